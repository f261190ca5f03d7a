"""Checking and encoding what a caller gives memory: namespaces, keys, values, filters, TTLs.

Namespaces are stored as one string, each label followed by U+001F (the unit separator), so
that a namespace prefix is a range of strings (`ns >= P AND ns < P'`, where P' is P with its
last separator raised to U+0020) and sorting the strings sorts the tuples. Labels and keys may
hold any character but control characters (U+0000-U+001F, U+007F), which keeps the separator
unambiguous and every value storable in PostgreSQL text.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from aos_core.contracts.text import non_unicode
from aos_core.memory.errors import MemoryInputError

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_INDEXED_CHARS",
    "MAX_LABEL_LENGTH",
    "MAX_QUERY_TERMS",
    "MAX_TTL_SECONDS",
    "SEPARATOR",
    "check_filter",
    "check_key",
    "check_namespace",
    "check_page",
    "check_prefix",
    "decode_namespace",
    "dump_value",
    "encode_namespace",
    "from_us",
    "index_text",
    "prefix_range",
    "query_terms",
    "to_us",
    "ttl_us",
    "value_text",
    "words",
]

SEPARATOR = "\x1f"
MAX_LABEL_LENGTH = 256
MAX_KEY_LENGTH = 1024
MAX_DEPTH = 32
MAX_QUERY_TERMS = 64
MAX_INDEXED_CHARS = 100_000
MAX_TTL_SECONDS = 100 * 365 * 86_400  # 100 years: any further is "never", and overflows the stores
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOT_UNICODE = (
    "holds a lone surrogate (a code point in U+D800-U+DFFF, e.g. from bytes that are not UTF-8), "
    "which cannot be stored as text; give Unicode text"
)
_TERM = re.compile(r"[^\W_]+")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)


def _label(text: Any, what: str, limit: int) -> str:
    if not isinstance(text, str) or not text:
        raise MemoryInputError(f"{what} must be a non-empty string, got {text!r}")
    if len(text) > limit:
        raise MemoryInputError(f"{what} is {len(text)} characters long; the limit is {limit}")
    if _CONTROL.search(text):
        raise MemoryInputError(f"{what} {text!r} contains a control character; remove it")
    if non_unicode(text) is not None:
        raise MemoryInputError(f"{what} {_printable(text)} {_NOT_UNICODE}")
    return text


def _printable(text: str) -> str:
    """`text` quoted, a lone surrogate written as its escape, so that the message can be written."""
    return repr(text).encode("utf-8", "backslashreplace").decode("utf-8")


def check_prefix(prefix: Any, what: str = "namespace prefix") -> tuple[str, ...]:
    """A tuple of labels, possibly empty (the whole store). A list is accepted (JSON has no tuples)."""
    if prefix is None:
        return ()
    if isinstance(prefix, str) or not isinstance(prefix, Sequence):
        raise MemoryInputError(f"{what} must be a tuple of strings such as ('users', 'u1'), got {prefix!r}")
    if len(prefix) > MAX_DEPTH:
        raise MemoryInputError(f"{what} has {len(prefix)} labels; the limit is {MAX_DEPTH}")
    return tuple(_label(label, f"{what} label", MAX_LABEL_LENGTH) for label in prefix)


def check_namespace(namespace: Any) -> tuple[str, ...]:
    """A non-empty tuple of labels."""
    labels = check_prefix(namespace, "namespace")
    if not labels:
        raise MemoryInputError("namespace must have at least one label, such as ('notes',)")
    return labels


def check_key(key: Any) -> str:
    return _label(key, "key", MAX_KEY_LENGTH)


def encode_namespace(labels: tuple[str, ...]) -> str:
    return "".join(label + SEPARATOR for label in labels)


def decode_namespace(text: str) -> tuple[str, ...]:
    return tuple(text.split(SEPARATOR)[:-1])


def prefix_range(prefix: tuple[str, ...]) -> tuple[str, str] | None:
    """The half-open string range of every encoded namespace under `prefix`; None for all."""
    if not prefix:
        return None
    low = encode_namespace(prefix)
    return low, low[:-1] + chr(ord(SEPARATOR) + 1)


def dump_value(value: Any, max_bytes: int) -> str:
    """The value as compact JSON text; refuses what would not come back equal."""
    _check_json(value, "value")
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise MemoryInputError(f"value is {size} bytes as JSON; the limit is {max_bytes}: store less, or raise it")
    return text


def _check_json(value: Any, where: str) -> None:
    stack = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                raise MemoryInputError(f"{path} contains U+0000 (NUL), which PostgreSQL cannot store; remove it")
            if non_unicode(item) is not None:
                raise MemoryInputError(f"{_printable(path)[1:-1]} {_NOT_UNICODE}")
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise MemoryInputError(f"{path} is {item!r}; JSON has no NaN or infinity")
        elif isinstance(item, list):
            stack.extend((v, f"{path}[{i}]") for i, v in enumerate(item))
        elif isinstance(item, dict):
            for k, v in item.items():
                if not isinstance(k, str) or "\x00" in k:
                    raise MemoryInputError(f"{path} has the key {k!r}; keys are strings without U+0000")
                if non_unicode(k) is not None:
                    where = _printable(path)[1:-1]
                    raise MemoryInputError(f"{where} has the key {_printable(k)}, which {_NOT_UNICODE}")
                stack.append((v, f"{path}.{k}"))
        elif not (item is None or isinstance(item, bool | int)):
            kind = type(item).__name__
            hint = "; use a list" if isinstance(item, tuple) else ""
            raise MemoryInputError(f"{path} is a {kind}, not a JSON value{hint}")


def value_text(value: Any) -> str:
    """What full-text and semantic search see: every string in the value, in order, one per line."""
    if isinstance(value, str):
        return value
    parts: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, list):
            stack.extend(reversed(item))
        elif isinstance(item, dict):
            stack.extend(reversed(list(item.values())))
    return "\n".join(parts)


def words(text: str) -> list[str]:
    """The words full-text search sees: runs of letters and digits, lower-cased. Both backends index
    and query exactly these (so "3.14" is the words "3" and "14" everywhere)."""
    return _TERM.findall(text.lower())


def index_text(value: Any) -> str:
    """The words of a value's text as one line, cut at MAX_INDEXED_CHARS (PostgreSQL caps a tsvector at 1 MB)."""
    text = " ".join(words(value_text(value)))
    if len(text) > MAX_INDEXED_CHARS:
        text = text[: text.rfind(" ", 0, MAX_INDEXED_CHARS + 1)].rstrip()
    return text


def query_terms(query: Any) -> list[str]:
    """The distinct words of a search query; the query syntax is plain words, any of which may match."""
    if not isinstance(query, str):
        raise MemoryInputError(f"query must be a string, got {query!r}")
    terms = list(dict.fromkeys(words(query)))
    if len(terms) > MAX_QUERY_TERMS:
        raise MemoryInputError(f"query has {len(terms)} distinct words; the limit is {MAX_QUERY_TERMS}")
    return terms


def check_filter(filter: Any) -> dict[str, str | int | float | bool | None]:
    """`{field: scalar}`: an item matches when its value is an object whose field equals each scalar."""
    if filter is None:
        return {}
    if not isinstance(filter, Mapping):
        raise MemoryInputError(f"filter must be an object of field: value, got {filter!r}")
    checked: dict[str, str | int | float | bool | None] = {}
    for field, expected in filter.items():
        if not isinstance(field, str) or not field:
            raise MemoryInputError(f"filter field names are non-empty strings, got {field!r}")
        for text in (field, expected):
            if isinstance(text, str) and non_unicode(text) is not None:
                raise MemoryInputError(f"filter {_printable(field)}: {_printable(text)} {_NOT_UNICODE}")
        if isinstance(expected, float) and not math.isfinite(expected):
            raise MemoryInputError(f"filter {field!r} is {expected!r}; JSON has no NaN or infinity")
        if not (expected is None or isinstance(expected, str | bool | int | float)):
            raise MemoryInputError(
                f"filter {field!r} is {type(expected).__name__}; filters match top-level fields against "
                "a string, number, boolean or null"
            )
        checked[field] = expected
    return checked


def check_page(limit: Any, offset: Any, *, max_limit: int = 1000) -> tuple[int, int]:
    for name, number, low in (("limit", limit, 1), ("offset", offset, 0)):
        if not isinstance(number, int) or isinstance(number, bool) or number < low:
            raise MemoryInputError(f"{name} must be an integer >= {low}, got {number!r}")
    if limit > max_limit:
        raise MemoryInputError(f"limit is {limit}; the most one call returns is {max_limit}: page with offset")
    return limit, offset


def ttl_us(ttl: Any) -> int | None:
    """A TTL in seconds as whole microseconds; None for no expiry."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not math.isfinite(ttl) or ttl <= 0:
        raise MemoryInputError(f"ttl is in seconds and must be a positive number, got {ttl!r}")
    if ttl > MAX_TTL_SECONDS:
        raise MemoryInputError(
            f"ttl is {ttl!r} seconds; the most is {MAX_TTL_SECONDS} (100 years): leave ttl out to keep the item"
        )
    return max(1, round(ttl * 1_000_000))


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact, no float)."""
    if moment.tzinfo is None:
        raise MemoryInputError("the memory clock returned a naive datetime; give it a timezone-aware clock")
    return (moment - _EPOCH) // _US


def from_us(us: int) -> datetime:
    return _EPOCH + timedelta(microseconds=us)
