"""Secrets: resolved by name at call time, remembered so their values are redacted everywhere.

Params name secrets as `${secrets.NAME}`; traces keep the reference, never the value. Once a
value has been handed out, every text the core produces (outcomes, errors, divergences, traces,
logs, events) is redacted of it, in every encoding it is likely to appear in: raw, URL-encoded
(`%XX` and `+`), base64 (standard and URL-safe, with or without padding) and JSON-escaped.
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

__all__ = ["MAX_DEPTH", "SECRET_REF", "MissingSecret", "SecretStore", "TooDeep", "resolve_secrets"]

SECRET_REF = re.compile(r"\$\{secrets\.([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_DEPTH = 200  # parameters nested deeper than this are refused (and never walked recursively)
_MIN_REDACT = 4  # shorter values would redact ordinary text


class MissingSecret(LookupError):
    """A `${secrets.NAME}` reference whose secret is not set (or whose provider failed)."""

    def __init__(self, name: str, reason: str | None = None) -> None:
        super().__init__(name)
        self.name = name
        self.reason = reason

    def __str__(self) -> str:
        if self.reason:
            return f"secret {self.name} could not be read: {self.reason}"
        return f"secret {self.name} is not set; export {self.name}=... or configure a secrets provider"


class TooDeep(ValueError):
    """Parameters nested deeper than `MAX_DEPTH`."""

    def __str__(self) -> str:
        return f"parameters are nested deeper than {MAX_DEPTH} levels"


def _encodings(value: str) -> set[str]:
    raw = value.encode("utf-8")
    forms = {
        value,
        quote(value, safe=""),
        quote_plus(value, safe=""),
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1],
    }
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms |= {text, text.rstrip("=")}
    return {form for form in forms if len(form) >= _MIN_REDACT}


class SecretStore:
    """Looks secrets up (the environment by default) and redacts every value it handed out."""

    def __init__(self, source: Mapping[str, str] | Callable[[str], str | None] | None = None) -> None:
        if source is None:
            self._lookup: Callable[[str], Any] = os.environ.get
        elif isinstance(source, Mapping):
            self._lookup = source.get
        elif callable(source):
            self._lookup = source
        else:
            raise TypeError(f"secrets must be a mapping or a callable name -> value, got {type(source).__name__}")
        self._names: dict[str, str] = {}  # every redacted form -> the secret's name
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def find(self, name: str) -> str | None:
        """The secret's value, or None when it is not set. `MissingSecret` when the provider fails."""
        try:
            value = self._lookup(name)
        except Exception as exc:  # noqa: BLE001 - a failing provider is a missing secret with a reason
            raise MissingSecret(name, f"the secrets provider raised {type(exc).__name__}") from None
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise MissingSecret(name, f"the secrets provider returned a {type(value).__name__}, not a string")
        self.remember(value, name)
        return value

    def get(self, name: str) -> str:
        value = self.find(name)
        if value is None:
            raise MissingSecret(name)
        return value

    def remember(self, value: str, name: str) -> None:
        """Treat `value` as secret from now on (e.g. a key read from configuration)."""
        if not isinstance(value, str) or len(value) < _MIN_REDACT or value in self._names:
            return
        with self._lock:
            for form in _encodings(value):
                self._names.setdefault(form, name)
            ordered = sorted(self._names, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def contains_secret(self, text: str) -> bool:
        pattern = self._pattern
        return pattern is not None and isinstance(text, str) and pattern.search(text) is not None

    def redact_text(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None:
            return text
        return pattern.sub(lambda m: f"[REDACTED:{self._names[m.group(0)]}]", text)

    # the `Secrets` protocol's name for it
    def redact(self, value: Any) -> Any:
        """`value` with every known secret replaced, in strings at any depth (keys too)."""
        if self._pattern is None:
            return value
        return self._redacted(value, 0)

    def _redacted(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if depth > MAX_DEPTH:
            return "[REDACTED:too deep]"
        if isinstance(value, Mapping):
            return {self.redact_text(str(k)): self._redacted(v, depth + 1) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self._redacted(v, depth + 1) for v in value]
        return value


def resolve_secrets(value: Any, store: SecretStore, depth: int = 0) -> Any:
    """`value` with each `${secrets.NAME}` replaced by the secret; the same object when it holds
    none. `MissingSecret` when one is unset; `TooDeep` past `MAX_DEPTH` levels."""
    kind = type(value)
    if kind is str:
        return SECRET_REF.sub(lambda m: store.get(m.group(1)), value) if "${secrets." in value else value
    if kind is int or kind is float or kind is bool or value is None:
        return value
    if depth >= MAX_DEPTH:
        raise TooDeep()
    if kind is dict or isinstance(value, Mapping):  # a dict first: the ABC check costs ~0.2 µs
        changed: dict[Any, Any] | None = None
        for key, item in value.items():
            kind = type(item)
            if (kind is str and "${secrets." not in item) or kind is int or kind is bool or kind is float:
                new = item  # the common leaves, without a call
            else:
                new = resolve_secrets(item, store, depth + 1)
            if new is not item and changed is None:
                changed = dict(value)
            if changed is not None:
                changed[key] = new
        return value if changed is None else changed
    if isinstance(value, list | tuple):
        items = [resolve_secrets(item, store, depth + 1) for item in value]
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if isinstance(value, str):
        return resolve_secrets(str(value), store, depth)
    return value
