"""A validated plan's steps, held compactly: a `PlanStep` is made each time one is read.

A run keeps its plan for its whole length, and 100,000 `PlanStep` models were 543 bytes a step
(52 MiB; the model, its `__dict__`, the parameters' dict and its numbers), two objects a step the
garbage collector's full collections walk. The steps are kept here in columns: ids, skills (one
string per skill), parameters, `depends_on`, and a byte a step naming the fields it was given;
the parameters as JSON text when they are plain JSON data (exact dict, list, str, int, finite
float, bool, None), which reads back as equal data of the same types, all of them in one `bytes`
(`PackedParams`, packed.py). 100,000 steps: 195 bytes a step as a row per step, 140 in columns with a
`bytes` per step's parameters (ids' strings included); besides the ids' strings, 85 bytes a step
with a `bytes` each, 52 packed. None of it is tracked by the garbage collector.
A read costs ~1 µs (the parameters parsed, the model made without validating it again: it was
validated when it was added). A step that does not fit (a subclass, a model made with
`model_construct` without every required field, parameters that are not plain JSON) is kept as
it is.

Only a validated plan holds one: `StepsSchema` gives the field the validation, errors, dumps and
JSON schema of a `tuple[PlanStep, ...]` of at least one step, and the compact rows after.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, overload

from pydantic import Field, GetCoreSchemaHandler, ValidationError
from pydantic_core import core_schema, from_json, to_json

from aos_core.contracts.packed import PackedParams, packable, shallow
from aos_core.contracts.text import non_unicode

if TYPE_CHECKING:
    from aos_core.contracts.plan import PlanStep

__all__ = [
    "PackedParams",
    "PlanSteps",
    "StepsBuilder",
    "StepsSchema",
    "ValidatedSteps",
    "step_fields",
    "step_ids",
    "step_skills",
]

_FIELDS = ("id", "skill", "params", "depends_on")
# the sets of fields a validated step can have been given (id and skill are required), by
# `given` (1: params, 2: depends_on); shared by every step made here, as compact.py shares them
_GIVEN = ({"id", "skill"}, {"id", "skill", "params"}, {"id", "skill", "depends_on"}, set(_FIELDS))

_new = object.__new__
_set = object.__setattr__


class StepsBuilder:
    """Validated steps added one at a time into the columns of a `PlanSteps`."""

    def __init__(self, kind: type[PlanStep]) -> None:
        self.kind = kind
        self.ids: list[str] = []
        self.skills: list[str] = []
        self.text = bytearray()  # the parameters that are plain JSON data, as JSON text, one after another
        self.ends = array("Q")  # where each step's text ends in `text` (a step kept as is: no text)
        self.other: dict[int, Any] = {}  # the parameters kept as they are, by index
        self.depends_on: list[tuple[str, ...]] = []
        self.given = bytearray()  # which fields each step was given: 1 params, 2 depends_on
        self.odd: dict[int, PlanStep] = {}  # steps kept as they are (see the module)

    def add(self, step: PlanStep) -> None:
        """One validated step."""
        fields = step.__dict__
        given_set = step.__pydantic_fields_set__
        given = ("params" in given_set) + 2 * ("depends_on" in given_set)
        if (
            type(step) is not self.kind
            or len(given_set) != 2 + (given & 1) + (given >> 1)
            or "id" not in given_set
            or "skill" not in given_set
            or len(fields) != 4
            or step.__pydantic_extra__ is not None
            or step.__pydantic_private__ is not None
            or type(fields.get("params")) is not dict
        ):
            shallow(len(self.ids), fields.get("id"), fields.get("params"))
            self.odd[len(self.ids)] = step
            self.ids.append(fields.get("id"))  # type: ignore[arg-type]
            self.skills.append(fields.get("skill"))  # type: ignore[arg-type]
            self._params(None)
            self.depends_on.append(())
            self.given.append(0)
            return
        params = fields["params"]
        try:
            if packable(params):
                params = to_json(params)  # bytes: not tracked by the garbage collector, read by from_json
        except (RecursionError, ValueError):  # nested too deep, a string JSON cannot hold: kept as it is
            params = fields["params"]
        shallow(len(self.ids), fields["id"], params)
        skill = fields["skill"]
        if type(skill) is str:  # one string per skill, however its step was parsed (plan_text.py)
            skill = sys.intern(skill)
        self.ids.append(fields["id"])
        self.skills.append(skill)
        self._params(params)
        self.depends_on.append(fields["depends_on"])
        self.given.append(given)

    def _params(self, params: Any) -> None:
        if type(params) is bytes:
            self.text += params
        else:
            self.other[len(self.ends)] = params
        self.ends.append(len(self.text))

    def steps(self) -> list[PlanStep]:
        """The steps added, as models."""
        return list(self.done())

    def done(self, cls: type[PlanSteps] | None = None) -> PlanSteps:
        """The steps added, held compactly."""
        params = PackedParams(bytes(self.text), self.ends, self.other or None)
        columns = (tuple(self.ids), tuple(self.skills), params, tuple(self.depends_on), bytes(self.given))
        return (cls or PlanSteps)(self.kind, columns, self.odd or None)


class PlanSteps(Sequence["PlanStep"]):
    """A validated plan's steps: a sequence of `PlanStep`, each made when it is read."""

    __slots__ = ("_depends_on", "_given", "_ids", "_kind", "_odd", "_params", "_skills")

    def __init__(self, kind: type[PlanStep], columns: tuple[Any, ...], odd: dict[int, PlanStep] | None) -> None:
        self._kind = kind
        self._ids, self._skills, self._params, self._depends_on, self._given = columns
        self._odd = odd

    @classmethod
    def of(cls, kind: type[PlanStep], steps: Iterable[PlanStep]) -> PlanSteps:
        """Validated steps (`PlanStep`s) held compactly."""
        builder = StepsBuilder(kind)
        for step in steps:
            builder.add(step)
        return builder.done(cls)

    def _make(self, i: int) -> Any:
        """Step `i`, made as pydantic makes a validated one (its `__dict__` and fields set)."""
        odd = self._odd
        if odd is not None and i in odd:
            return odd[i]
        params = self._params[i]
        step = _new(self._kind)
        if type(params) is bytes:
            params = from_json(params)
        _set(
            step,
            "__dict__",
            {"id": self._ids[i], "skill": self._skills[i], "params": params, "depends_on": self._depends_on[i]},
        )
        _set(step, "__pydantic_fields_set__", _GIVEN[self._given[i]])
        _set(step, "__pydantic_extra__", None)
        _set(step, "__pydantic_private__", None)
        return step

    def _fields(self, i: int) -> tuple[str, str, dict[str, Any], tuple[str, ...]]:
        odd = self._odd
        if odd is not None and i in odd:
            step = odd[i]
            return step.id, step.skill, step.params, step.depends_on
        params = self._params[i]
        return (
            self._ids[i],
            self._skills[i],
            from_json(params) if type(params) is bytes else params,
            self._depends_on[i],
        )

    def ids(self) -> Iterator[str]:
        """The steps' ids, in order, without making the steps."""
        return self._column(self._ids, "id")

    def _column(self, values: Sequence[str], name: str) -> Iterator[str]:
        """A column's values, a step kept as it is read for its field `name`."""
        odd = self._odd
        if odd is None:
            return iter(values)
        return (getattr(odd[i], name) if i in odd else value for i, value in enumerate(values))

    def fields(self) -> Iterator[tuple[str, str, dict[str, Any], tuple[str, ...]]]:
        """Each step's (id, skill, params, depends_on), without making the steps (a third of the
        cost of a read: the parameters parsed, no model made)."""
        return map(self._fields, range(len(self._ids)))

    def skills(self) -> Iterator[str]:
        """The steps' skills, in order, without making the steps."""
        return self._column(self._skills, "skill")

    def non_unicode(self) -> str | None:
        """Where the first string that is not Unicode text is (`steps.I.params.KEY...`), or
        None. Parameters packed as JSON text were written as UTF-8, so hold none; ids match
        `STEP_ID_PATTERN`, which is ASCII."""
        for skill in set(self._skills):
            if non_unicode(skill) is not None:
                return f"steps.{self._skills.index(skill)}.skill"
        for i, deps in enumerate(self._depends_on):
            if deps and (where := non_unicode(deps)) is not None:
                return f"steps.{i}.depends_on.{where}"
        unpacked = dict(self._params._other or {}) if isinstance(self._params, PackedParams) else {}
        unpacked.update((i, step.model_dump()) for i, step in (self._odd or {}).items())
        for i in sorted(unpacked):
            where = non_unicode(unpacked[i])
            if where is not None:
                return f"steps.{i}.{'' if i in (self._odd or {}) else 'params.'}{where}".rstrip(".")
        return None

    def json_data(self) -> Iterator[dict[str, Any]]:
        """Each step as `step.model_dump(mode="json")` gives it, one at a time (the run header):
        compact parameters are plain JSON data, which that dump gives back as they are."""
        for i, params in enumerate(self._params):
            if type(params) is bytes and (self._odd is None or i not in self._odd):
                yield {
                    "id": self._ids[i],
                    "skill": self._skills[i],
                    "params": from_json(params),
                    "depends_on": list(self._depends_on[i]),
                }
            else:
                yield self._make(i).model_dump(mode="json")

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> PlanStep: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[PlanStep, ...]: ...

    def __getitem__(self, index: int | slice) -> PlanStep | tuple[PlanStep, ...]:
        if isinstance(index, slice):  # as a tuple's slice
            return tuple(map(self._make, range(len(self._ids))[index]))
        n = len(self._ids)
        if not -n <= index < n:
            raise IndexError("tuple index out of range")
        return self._make(index % n if index < 0 else index)

    def __iter__(self) -> Iterator[PlanStep]:
        return map(self._make, range(len(self._ids)))

    def _columns(self) -> tuple[Any, ...]:
        return (self._ids, self._skills, self._params, self._depends_on, self._given)

    def __eq__(self, other: object) -> bool:
        """Equal to steps (compact or a tuple) that are equal one by one, as a tuple is."""
        if isinstance(other, PlanSteps):
            if self._columns() == other._columns() and self._odd == other._odd:
                return True
        elif not isinstance(other, tuple):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    def __hash__(self) -> int:
        return hash(tuple(self))

    def __repr__(self) -> str:
        return repr(tuple(self))

    def __reduce__(self) -> tuple[Any, ...]:
        return (PlanSteps, (self._kind, self._columns(), self._odd))


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
            if type(value) is ValidatedSteps and len(value):
                return PlanSteps(value._kind, value._columns(), value._odd)
            if type(value) is PlanSteps and len(value):
                return value
            if (type(value) is list or type(value) is tuple) and value:
                # one step at a time, each kept compactly as it is made: the whole list validated
                # first held a model per step at once, +73 MiB to validate a 100,000-step plan
                # given as data (`Runtime.run(dict)`) against +5 kept. Each step goes through the
                # same validator in a container of one of the same type, so strictness, context
                # and from_attributes apply as to the whole; at the first step that is not valid
                # the whole list is validated, for its errors to be the same as before.
                built = StepsBuilder(kind)
                one = list if type(value) is list else tuple
                try:
                    for step in value:
                        built.add(validate(one((step,)))[0])
                except ValidationError:
                    return compact(validate(value))
                return built.done(PlanSteps)
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
