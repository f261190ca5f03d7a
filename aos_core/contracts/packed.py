"""A plan's parameters packed: plain JSON data (exact dict, list, str, int, finite float, bool,
None) written as JSON text, every step's one after another in one `bytes`, which reads back as
equal data of the same types (plan_steps.py holds a plan's steps in columns with them). Data that
is not plain is kept as it is; either way nesting is at most `MAX_JSON_DEPTH` levels.
"""

from __future__ import annotations

import json
import math
from array import array
from collections.abc import Sequence
from typing import Any, overload

from aos_core.contracts.text import MAX_JSON_DEPTH, deeper_than

__all__ = ["PackedParams", "packable", "shallow"]


def packable(value: Any) -> bool:
    """Whether `value` is JSON data that reads back from JSON text equal and of the same types."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str and packable(v) for k, v in value.items())
    if kind is list:
        return all(packable(v) for v in value)
    return False


class PackedParams(Sequence[Any]):
    """A column of parameters: the JSON texts one after another in one `bytes`, with where each
    ends; a step's parameters that are not plain JSON data are kept as they are, by index. A
    `bytes` object per step was 4.9 of `aos run`'s 49 MiB of Python data at 100,000 steps (bench
    case 6); one text is ~1.6 MiB with its ends. An item reads as its text (`bytes`) or its value."""

    __slots__ = ("_ends", "_other", "_text")

    def __init__(self, text: bytes, ends: array[int], other: dict[int, Any] | None) -> None:
        self._text = text
        self._ends = ends
        self._other = other

    @overload
    def __getitem__(self, i: int) -> Any: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Any]: ...

    def __getitem__(self, i: int | slice) -> Any:
        if isinstance(i, slice):
            return [self[j] for j in range(len(self._ends))[i]]
        other = self._other
        if other is not None and i in other:
            return other[i]
        ends = self._ends
        return self._text[ends[i - 1] if i > 0 else 0 : ends[i]]

    def __len__(self) -> int:
        return len(self._ends)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PackedParams):
            return NotImplemented
        return (self._text, self._ends, self._other) == (other._text, other._ends, other._other)

    __hash__ = None  # type: ignore[assignment]


def shallow(index: int, step_id: Any, params: Any) -> None:
    """`ValueError` when a step's parameters (as data, or packed as JSON text) nest more than
    `MAX_JSON_DEPTH` levels: written into the run header, such a step could not be read back
    (pydantic-core's parser stops near 200 levels, its serializer near 250), and `Runtime.run`
    raised. JSON text that deep holds two brackets a level: shorter text, or text with fewer
    brackets, is not looked at further (one comparison for almost every step)."""
    if type(params) is bytes:
        if len(params) <= 2 * MAX_JSON_DEPTH or params.count(b"{") + params.count(b"[") <= MAX_JSON_DEPTH:
            return
        try:
            deep = deeper_than(json.loads(params))
        except RecursionError:
            deep = True
    else:
        deep = deeper_than(params)
    if deep:
        raise ValueError(
            f"step {index} ({step_id!r}) has params nested more than {MAX_JSON_DEPTH} levels deep; flatten them"
        )
