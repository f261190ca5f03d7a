"""A validated plan's steps, held compactly: a `PlanStep` is made each time one is read.

A run keeps its plan for its whole length, and 100,000 `PlanStep` models were 543 bytes a step
(52 MiB; the model, its `__dict__`, the parameters' dict and its numbers), two objects a step the
garbage collector's full collections walk. A step is kept here as a row `(id, skill, params,
depends_on, given)`: the parameters as JSON text when they are plain JSON data (exact dict, list,
str, int, finite float, bool, None), which reads back as equal data of the same types; `given`
names which fields the step was given. 100,000 steps: 200 bytes a step, none of the rows tracked
by the garbage collector. A read costs ~1 µs (parse the parameters, make the model without
validating it again: it was validated when the row was made). A step that does not fit a row (a
subclass, a model made with `model_construct`, parameters that are not plain JSON) is kept as it is.

Only a validated plan holds one: `StepsSchema` gives the field the validation, errors, dumps and
JSON schema of a `tuple[PlanStep, ...]` of at least one step, and the compact rows after.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from pydantic import BaseModel, Field, GetCoreSchemaHandler
from pydantic_core import core_schema, from_json, to_json

if TYPE_CHECKING:
    from aos_core.contracts.plan import PlanStep

__all__ = ["PlanSteps", "StepsSchema", "ValidatedSteps", "step_fields", "step_ids", "step_skills"]

_FIELDS = ("id", "skill", "params", "depends_on")
# the sets of fields a validated step can have been given (id and skill are required), by
# `given` (1: params, 2: depends_on); shared by every step made here, as compact.py shares them
_GIVEN = ({"id", "skill"}, {"id", "skill", "params"}, {"id", "skill", "depends_on"}, set(_FIELDS))

_new = object.__new__
_set = object.__setattr__


def _plain(value: Any) -> bool:
    """Whether `value` is JSON data that reads back from JSON text equal and of the same types."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    if kind is list:
        return all(_plain(v) for v in value)
    return False


def _row(step: Any, kind: type[BaseModel]) -> Any:
    """The compact row of a validated step, or the step itself when it does not fit one."""
    fields = step.__dict__
    given_set = step.__pydantic_fields_set__
    given = ("params" in given_set) + 2 * ("depends_on" in given_set)
    if (
        type(step) is not kind
        or len(given_set) != 2 + (given & 1) + (given >> 1)
        or "id" not in given_set
        or "skill" not in given_set
        or len(fields) != 4
        or step.__pydantic_extra__ is not None
        or step.__pydantic_private__ is not None
        or type(fields.get("params")) is not dict
    ):
        return step
    params = fields["params"]
    try:
        if _plain(params):
            params = to_json(params)  # bytes: not tracked by the garbage collector, read by from_json
    except (RecursionError, ValueError):  # nested too deep, a string JSON cannot hold: kept as it is
        params = fields["params"]
    skill = fields["skill"]
    if type(skill) is str:  # one string per skill, however its step was parsed (plan_text.py)
        skill = sys.intern(skill)
    return (fields["id"], skill, params, fields["depends_on"], given)


def _make(kind: type[BaseModel], row: Any) -> Any:
    """The step of `row`, made as pydantic makes a validated one (its `__dict__` and fields set)."""
    if type(row) is not tuple:
        return row
    step_id, skill, params, depends_on, given = row
    step = _new(kind)
    if type(params) is bytes:
        params = from_json(params)
    _set(step, "__dict__", {"id": step_id, "skill": skill, "params": params, "depends_on": depends_on})
    _set(step, "__pydantic_fields_set__", _GIVEN[given])
    _set(step, "__pydantic_extra__", None)
    _set(step, "__pydantic_private__", None)
    return step


def _fields(row: Any) -> tuple[str, str, dict[str, Any], tuple[str, ...]]:
    """(id, skill, params, depends_on) of a row, without making its step."""
    if type(row) is not tuple:
        return row.id, row.skill, row.params, row.depends_on
    params = row[2]
    return row[0], row[1], from_json(params) if type(params) is bytes else params, row[3]


class PlanSteps(Sequence["PlanStep"]):
    """A validated plan's steps: a sequence of `PlanStep`, each made when it is read."""

    __slots__ = ("_kind", "_rows")

    def __init__(self, kind: type[PlanStep], rows: tuple[Any, ...]) -> None:
        self._kind = kind
        self._rows = rows

    @classmethod
    def of(cls, kind: type[PlanStep], steps: Iterable[PlanStep]) -> PlanSteps:
        """Validated steps (`PlanStep`s) held compactly."""
        return cls(kind, tuple(_row(step, kind) for step in steps))

    @staticmethod
    def row(kind: type[PlanStep], step: PlanStep) -> Any:
        """One validated step's row (to build the rows one step at a time: `steps_validated`)."""
        return _row(step, kind)

    def step(self, row: Any) -> PlanStep:
        """The step of one of this sequence's rows."""
        return _make(self._kind, row)

    def ids(self) -> Iterator[str]:
        """The steps' ids, in order, without making the steps."""
        return (row[0] if type(row) is tuple else row.id for row in self._rows)

    def fields(self) -> Iterator[tuple[str, str, dict[str, Any], tuple[str, ...]]]:
        """Each step's (id, skill, params, depends_on), without making the steps (a third of the
        cost of a read: the parameters parsed, no model made)."""
        return map(_fields, self._rows)

    def skills(self) -> Iterator[str]:
        """The steps' skills, in order, without making the steps."""
        return (row[1] if type(row) is tuple else row.skill for row in self._rows)

    def json_data(self) -> Iterator[dict[str, Any]]:
        """Each step as `step.model_dump(mode="json")` gives it, one at a time (the run header):
        a row's parameters are plain JSON data, which that dump gives back as they are."""
        kind = self._kind
        for row in self._rows:
            if type(row) is tuple and type(row[2]) is bytes:
                yield {"id": row[0], "skill": row[1], "params": from_json(row[2]), "depends_on": list(row[3])}
            else:
                yield _make(kind, row).model_dump(mode="json")

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> PlanStep: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[PlanStep, ...]: ...

    def __getitem__(self, index: int | slice) -> PlanStep | tuple[PlanStep, ...]:
        if isinstance(index, slice):  # as a tuple's slice
            return tuple(_make(self._kind, row) for row in self._rows[index])
        return _make(self._kind, self._rows[index])

    def __iter__(self) -> Iterator[PlanStep]:
        kind = self._kind
        return (_make(kind, row) for row in self._rows)

    def __eq__(self, other: object) -> bool:
        """Equal to steps (compact or a tuple) that are equal one by one, as a tuple is."""
        if isinstance(other, PlanSteps):
            if self._rows == other._rows:
                return True
        elif not isinstance(other, tuple):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlanSteps, (self._kind, self._rows))


class ValidatedSteps(PlanSteps):
    """Steps `steps_validated` validated, for `Plan.model_validate` to take as they are; shown as
    the list of steps it replaces (a validation error shows its input)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(list(self))


class StepsSchema:
    """The schema of a plan's `steps`: validated, dumped and described as `tuple[PlanStep, ...]`
    of at least one step (the same errors, bytes and JSON schema), held as `PlanSteps`. A
    `PlanSteps` (already validated, e.g. by `steps_validated`) is taken as it is."""

    def __init__(self, kind: Callable[[], type[PlanStep]]) -> None:
        self.kind = kind

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        from typing import Annotated

        kind = self.kind()
        steps = handler.generate_schema(Annotated[tuple[kind, ...], Field(min_length=1)])  # type: ignore[valid-type]

        def compact(value: tuple[PlanStep, ...]) -> PlanSteps:
            return PlanSteps.of(kind, value)

        def python(value: Any, validate: core_schema.ValidatorFunctionWrapHandler) -> PlanSteps:
            if type(value) is ValidatedSteps and value._rows:
                return PlanSteps(value._kind, value._rows)
            if type(value) is PlanSteps and value._rows:
                return value
            return compact(validate(value))

        def dump(value: Any, serialize: core_schema.SerializerFunctionWrapHandler) -> Any:
            return serialize(tuple(value) if type(value) is PlanSteps else value)

        return core_schema.json_or_python_schema(
            json_schema=core_schema.no_info_after_validator_function(compact, steps),
            python_schema=core_schema.no_info_wrap_validator_function(python, steps),
            serialization=core_schema.wrap_serializer_function_ser_schema(dump, schema=steps),
        )


def step_ids(steps: Sequence[PlanStep]) -> Iterator[str]:
    """The ids of a plan's steps, without making them when they are compact."""
    return steps.ids() if isinstance(steps, PlanSteps) else (step.id for step in steps)


def step_skills(steps: Sequence[PlanStep]) -> Iterator[str]:
    """The skills of a plan's steps, without making them when they are compact."""
    return steps.skills() if isinstance(steps, PlanSteps) else (step.skill for step in steps)


def step_fields(steps: Sequence[PlanStep]) -> Iterator[tuple[str, str, dict[str, Any], tuple[str, ...]]]:
    """Each step's (id, skill, params, depends_on), without making the steps when they are compact."""
    if isinstance(steps, PlanSteps):
        return steps.fields()
    return ((step.id, step.skill, step.params, step.depends_on) for step in steps)
