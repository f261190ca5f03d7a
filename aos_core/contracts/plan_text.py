"""A plan's JSON text read one step at a time: a plan file, a run header.

Parsing the whole text first (`from_json`) held every step's parsed data at once before the
steps were validated and compacted: a 100,000-step plan is 7.5 MB of text and ~55 MiB parsed,
the peak of reading a plan (`aos run`) and a run header (`aos replay`). Here the objects on the
way to the steps are read key by key, and the steps' list one step at a time, each validated as
a `PlanStep` and kept as its compact row (plan_steps.py) as soon as it is read: the same
validation as `steps_validated`, which takes the whole data.

Anything else (a step that is not valid, text that is not JSON, a number `json` refuses) gives
None: the caller reads the text as before, for its errors to be the same.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from json import decoder
from typing import Any

from pydantic import ValidationError

from aos_core.contracts.plan import PlanStep
from aos_core.contracts.plan_steps import StepsBuilder, ValidatedSteps

__all__ = ["data_with_steps"]

# json's own scanners (C), which typeshed does not declare: one JSON value at an index, and a
# string's rest after its opening quote; each gives (value, index after it)
_scan: Callable[[str, int], tuple[Any, int]] = json.JSONDecoder().scan_once  # type: ignore[attr-defined]
scanstring: Callable[[str, int], tuple[str, int]] = decoder.scanstring  # type: ignore[attr-defined]
_SPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace (json.decoder.WHITESPACE)


def _skip(text: str, i: int) -> int:
    """The index of the first character at or after `i` that is not whitespace."""
    found = _SPACE.match(text, i)
    return i if found is None else found.end()


class _Other(Exception):
    """The text is not read here (see the module)."""


def data_with_steps(text: str, path: tuple[str, ...]) -> Any | None:
    """The JSON data of `text` (an object), the list at the keys `path` replaced by the steps it
    holds, validated (`ValidatedSteps`, for `Plan.model_validate` to take as they are); None
    when the text is not read here."""
    try:
        i = _skip(text, 0)
        if text[i] != "{":
            return None
        data, i = _object(text, i, path)
        if _skip(text, i) != len(text):
            return None
    except (_Other, ValueError, IndexError, StopIteration, RecursionError):
        return None
    return data


def _object(text: str, i: int, path: tuple[str, ...]) -> tuple[dict[str, Any], int]:
    """The object at `text[i]` (`{`) and the index after it."""
    found: dict[str, Any] = {}
    i = _skip(text, i + 1)
    if text[i] == "}":
        return found, i + 1
    while True:
        if text[i] != '"':
            raise _Other
        key, i = scanstring(text, i + 1)
        i = _skip(text, i)
        if text[i] != ":":
            raise _Other
        i = _skip(text, i + 1)
        if path and key == path[0] and len(path) > 1 and text[i] == "{":
            found[key], i = _object(text, i, path[1:])
        elif path and key == path[0] and len(path) == 1 and text[i] == "[":
            found[key], i = _steps(text, i)
        else:
            found[key], i = _scan(text, i)
        i = _skip(text, i)
        if text[i] == "}":
            return found, i + 1
        if text[i] != ",":
            raise _Other
        i = _skip(text, i + 1)


def _steps(text: str, i: int) -> tuple[Any, int]:
    """The steps' list at `text[i]` (`[`), validated, and the index after it."""
    built = StepsBuilder(PlanStep)
    i = _skip(text, i + 1)
    if text[i] == "]":
        return [], i + 1  # no steps: left as data, for validation to say so
    while True:
        step, i = _scan(text, i)
        try:
            built.add(PlanStep.model_validate(step))
        except ValidationError:
            raise _Other from None
        i = _skip(text, i)
        if text[i] == "]":
            return built.done(ValidatedSteps), i + 1
        if text[i] != ",":
            raise _Other
        i = _skip(text, i + 1)
