"""Building trusted model instances fast, for the execution hot path.

`model_construct` spends ~9 µs handling defaults and aliases; when the core itself has every
field in hand and valid, `trusted` sets them directly (~2 µs). Tests check both build equal
models. Never use it on data from outside the core.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["trusted"]

M = TypeVar("M", bound=BaseModel)
_setattr = object.__setattr__


def trusted(cls: type[M], fields: dict[str, Any]) -> M:
    """An instance of `cls` holding exactly `fields` (all of them, already valid)."""
    obj = cls.__new__(cls)
    _setattr(obj, "__dict__", fields)
    _setattr(obj, "__pydantic_fields_set__", set(fields))
    _setattr(obj, "__pydantic_extra__", None)
    _setattr(obj, "__pydantic_private__", None)
    return obj
