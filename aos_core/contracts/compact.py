"""Models a run keeps by the thousand share their `__pydantic_fields_set__`.

pydantic gives every instance a set of the field names it was given: 216 bytes for up to four
names, 728 for up to eighteen. A durable run keeps one outcome per step, and those sets were a
third of what a step held (bench case 6: 2.5 KB a step in memory before, 1.7 after, for outcomes
alone; a plan's steps are kept as rows, plan_steps.py). Instances given the same names share one
set. That is safe for frozen models: pydantic changes the set only on attribute assignment, which
they refuse, and in `model_copy(update=...)` after copying it.
"""

from __future__ import annotations

from pydantic import BaseModel

__all__ = ["share_fields_set"]

_SHARED: dict[frozenset[str], set[str]] = {}
_MOST = 1024  # distinct name sets kept; beyond it an instance keeps its own
_ALL: dict[type[BaseModel], set[str]] = {}  # per class, the set of all its fields


def share_fields_set(model: BaseModel) -> None:
    """Make `model` (frozen) use the one shared set equal to its own set of fields given."""
    given = model.__pydantic_fields_set__
    kind = type(model)
    if len(given) == len(kind.__pydantic_fields__):  # every field given (the pipeline's outcomes): no key to build
        shared = _ALL.get(kind)
        if shared is None:
            shared = _ALL.setdefault(kind, set(given))
        object.__setattr__(model, "__pydantic_fields_set__", shared)
        return
    key = frozenset(given)
    shared = _SHARED.get(key)
    if shared is None:
        if len(_SHARED) >= _MOST:
            return
        shared = _SHARED.setdefault(key, set(key))
    object.__setattr__(model, "__pydantic_fields_set__", shared)
