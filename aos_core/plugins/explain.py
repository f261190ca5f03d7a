"""Why a plugin failed, in one line a plugin author can act on.

A plugin may raise anything while it loads, `SystemExit` and exception groups included; only
`KeyboardInterrupt` is the user's and goes through (`reraise_if_interrupt`). A pydantic
`ValidationError` is shown field by field as `field: problem (got VALUE)`, with a "did you mean"
for a misspelt field, and the file where the plugin made the bad value. Values are shortened,
and a string that looks like a secret is never echoed.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

__all__ = [
    "exception_summary",
    "fields_at",
    "metadata_problem",
    "one_line",
    "plugin_file",
    "relative_path",
    "reraise_if_interrupt",
    "shown_value",
    "validation_summary",
]

_SECRET_LIKE = re.compile(r"[A-Za-z0-9_\-+/=.:]{16,}")
_CORE_DIR = str(Path(__file__).resolve().parents[1]) + os.sep  # aos_core/


def reraise_if_interrupt(exc: BaseException) -> None:
    """Re-raise a Ctrl-C (alone or inside an exception group): it is the user's, not the plugin's."""
    if isinstance(exc, KeyboardInterrupt):
        raise exc
    if isinstance(exc, BaseExceptionGroup) and exc.subgroup(KeyboardInterrupt) is not None:
        raise exc


def one_line(text: str, limit: int = 300) -> str:
    """`text` on one line, cut at a word boundary with '…' past `limit` characters."""
    line = " ".join(str(text).split())
    if not line:
        return "(no message)"
    if len(line) <= limit:
        return line
    cut = line[: limit - 1]
    space = cut.rfind(" ")
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:") + "…"


def exception_summary(exc: BaseException) -> str:
    """`called sys.exit(3)`, or `Type: message` for anything else."""
    if isinstance(exc, SystemExit):
        return "called sys.exit()" if exc.code is None else f"called sys.exit({exc.code!r})"
    return f"{type(exc).__name__}: {one_line(str(exc), 200)}"


def shown_value(value: Any, limit: int = 40) -> str:
    """A short, safe rendering of a value a plugin gave: never a whole blob, never a secret."""
    if isinstance(value, str):
        if _looks_secret(value):
            return f"a {len(value)}-character string (not shown)"
        if len(value) <= limit:
            return repr(value)
        return repr(value[:limit]) + f"… ({len(value)} characters)"
    if isinstance(value, dict | list | tuple | set | frozenset):
        text = repr(value)
        if len(text) <= limit and not _looks_secret(text):
            return text
        return f"a {type(value).__name__} of {len(value)} item(s)"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _looks_secret(text: str) -> bool:
    """A long token without spaces that mixes letters and digits: an API key, a password, a blob."""
    for token in _SECRET_LIKE.findall(text):
        if any(c.isdigit() for c in token) and any(c.isalpha() for c in token) and "://" not in token:
            return True
    return False


def validation_summary(exc: Any, fields_at: Any = None, limit: int = 3) -> str:
    """`field: problem (got VALUE); ...` for a pydantic `ValidationError`.

    `fields_at(loc)` gives the field names valid at a location (for "did you mean"), or None.
    """
    parts = []
    errors = exc.errors(include_url=False)
    meant: dict[tuple[Any, ...], str] = {}  # a misspelt field's location: the field it is close to
    for error in errors:
        loc = tuple(error["loc"])
        if error["type"] == "extra_forbidden" and loc:
            known = fields_at(loc[:-1]) if fields_at is not None else None
            close = difflib.get_close_matches(str(loc[-1]), known or (), n=1, cutoff=0.6)
            if close:
                meant[loc] = close[0]
    # a required field missing because it was misspelt is said once, by its "did you mean"
    misspelt = {(*loc[:-1], name) for loc, name in meant.items()}
    errors = [e for e in errors if not (e["type"] == "missing" and tuple(e["loc"]) in misspelt)]
    for error in errors[:limit]:
        loc = tuple(error["loc"])
        where = ".".join(str(p) for p in loc) or "(the whole value)"
        problem = str(error["msg"])
        if error["type"] == "extra_forbidden":
            problem = "unknown field"
            if loc in meant:
                problem += f"; did you mean {meant[loc]}?"
        part = f"{where}: {problem}"
        if error["type"] != "missing":
            part += f" (got {shown_value(error.get('input'))})"
        parts.append(part)
    more = len(errors) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def fields_at(model: Any, loc: tuple[Any, ...]) -> list[str] | None:
    """The field names valid at `loc` inside the pydantic `model` (for "did you mean"), or None."""
    from pydantic import BaseModel

    for part in loc:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        annotation = field.annotation if field is not None else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return list(model.model_fields)


def metadata_problem(exc: BaseException) -> str | None:
    """For a pydantic `ValidationError` (a plugin's `SkillMetadata(...)` with a bad field, say):
    `invalid MODEL: field: problem (got VALUE); ...; fix it in FILE:LINE`. None for anything else."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):
        return None
    import pydantic

    from aos_core.contracts import schema_models

    model = schema_models().get(exc.title)
    fields = functools.partial(fields_at, model) if isinstance(model, type) else None
    where = plugin_file(exc.__traceback__, skip=(str(Path(pydantic.__file__).parent) + os.sep,))
    fix = f"; fix it in {where}" if where else ""
    return f"invalid {exc.title}: {validation_summary(exc, fields)}{fix}"


def plugin_file(traceback: TracebackType | None, skip: Iterable[str] = ()) -> str | None:
    """`path:line` of the deepest frame that is the plugin's own code (not aos_core, not a library
    named in `skip`), relative to the working directory when it lies under it."""
    found = None
    skipped = (_CORE_DIR, *skip)
    while traceback is not None:
        filename = traceback.tb_frame.f_code.co_filename
        if not filename.startswith("<") and not os.path.abspath(filename).startswith(skipped):
            found = (filename, traceback.tb_lineno)
        traceback = traceback.tb_next
    if found is None:
        return None
    return f"{relative_path(found[0])}:{found[1]}"


def relative_path(filename: str) -> str:
    """`filename` relative to the working directory when it lies under it, else absolute."""
    path = os.path.abspath(filename)
    here = os.getcwd() + os.sep
    return path[len(here) :] if path.startswith(here) else path
