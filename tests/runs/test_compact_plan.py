"""A validated plan holds its steps compactly (plan_steps.py) and reads exactly as a tuple of
`PlanStep` models did: the same steps, dumps, JSON schema, errors and run header bytes."""

from __future__ import annotations

import copy
import gc
import json
import pickle
import tracemalloc
from decimal import Decimal
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from aos_core.contracts.plan import Plan, PlanStep, PlanSteps, steps_validated
from aos_core.runs import trace
from aos_core.runs.trace import canonical_json

from .conftest import chain_plan

STEPS = TypeAdapter(tuple[PlanStep, ...])


class OldPlan(BaseModel):
    """The plan as it was declared before its steps were compact: the contract to keep."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1] = 1
    goal: str = ""
    steps: tuple[PlanStep, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> OldPlan:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice")
            seen.add(step.id)
        return self


def echo_plan(n: int) -> dict[str, Any]:
    return {
        "version": 1,
        "goal": "x",
        "steps": [{"id": f"s{i}", "skill": "echo", "params": {"x": i, "s": "a"}} for i in range(n)],
    }


MIXED: list[dict[str, Any]] = [
    {"id": "a", "skill": "s"},
    {
        "id": "b",
        "skill": "s",
        "params": {"z": 1.5, "a": [1, "x", None, True, {"k": 1e16}], "u": "é\u2028"},
        "depends_on": ["a"],
    },
    {"id": "c", "skill": "s", "params": {}, "depends_on": []},
    {"id": "d", "skill": "t", "params": {"big": 10**30, "neg": -0.0, "f": 1e-7, "deep": [[[{"q": [1]}]]]}},
]


def check_reads_as_before(plan: Plan, data: list[Any]) -> None:
    old = STEPS.validate_python(data)
    assert isinstance(plan.steps, PlanSteps)
    assert tuple(plan.steps) == old and plan.steps == old and old == plan.steps
    assert len(plan.steps) == len(old) and plan.steps[1:3] == old[1:3] and plan.steps[-1] == old[-1]
    for got, want in zip(plan.steps, old, strict=True):
        assert type(got) is type(want) and got.model_fields_set == want.model_fields_set
        assert repr(got) == repr(want)
        for k, v in got.params.items():  # same values of the same types (True is not 1, 1.0 is not 1)
            assert type(v) is type(want.params[k])
    assert repr(plan.steps) == repr(old)
    for options in ({}, {"mode": "json"}, {"exclude_unset": True}, {"exclude_defaults": True}):
        assert plan.model_dump(**options)["steps"] == STEPS.dump_python(old, **options)  # type: ignore[arg-type]
    assert plan.model_dump_json() == OldPlan.model_validate(plan.model_dump()).model_dump_json()
    given = {name: getattr(plan, name) for name in plan.model_fields_set}
    assert plan.model_dump_json(indent=2, exclude_unset=True) == OldPlan.model_validate(
        {**given, "steps": old}
    ).model_dump_json(indent=2, exclude_unset=True)


@pytest.mark.parametrize("route", ["model_validate", "steps_validated", "model_validate_json", "constructor"])
def test_a_compact_plan_reads_as_its_steps_did(route: str) -> None:
    data = {"goal": "g", "steps": copy.deepcopy(MIXED)}
    if route == "model_validate":
        plan = Plan.model_validate(data)
    elif route == "steps_validated":
        plan = Plan.model_validate(steps_validated(json.loads(json.dumps(data))))
    elif route == "model_validate_json":
        plan = Plan.model_validate_json(json.dumps(data))
    else:
        plan = Plan(goal="g", steps=[PlanStep.model_validate(s) for s in MIXED])
    check_reads_as_before(plan, MIXED)
    again = Plan.model_validate(plan.model_dump())
    assert again == plan and pickle.loads(pickle.dumps(plan)) == plan and copy.deepcopy(plan) == plan
    assert plan.model_copy() == plan and plan != Plan(steps=[PlanStep(id="q", skill="s")])
    with pytest.raises(TypeError):
        hash(plan)  # a step's params are a dict: a plan never hashed, and still does not


def test_steps_whose_params_are_not_json_data_keep_their_values() -> None:
    odd = PlanStep(id="a", skill="s", params={"d": Decimal("1.5"), "t": (1, 2), "n": float("nan"), "i": float("inf")})
    made = PlanStep.model_construct(id="b")  # no skill: not a step a row can hold

    class Sub(PlanStep):
        pass

    sub = Sub(id="c", skill="s", params={"x": 1})
    pair = PlanStep(id="e", skill="s", params={"t": (1, 2), "k": [True, 1.0]})
    plan = Plan(steps=[odd, made, sub, pair])
    assert plan.steps[0].params["t"] == (1, 2) and type(plan.steps[0].params["d"]) is Decimal
    assert type(plan.steps[3].params["t"]) is tuple and plan.steps[3].params == pair.params
    assert plan.steps[1] is made and plan.steps[2] is sub
    assert list(plan.steps.ids()) == ["a", "b", "c", "e"]
    with pytest.raises(AttributeError):  # as `made.skill` does: a column does not invent a value
        list(plan.steps.skills())
    assert plan.model_dump_json() == OldPlan(steps=(odd, made, sub, pair)).model_dump_json()


def test_parameters_kept_as_text_and_as_values_read_back_at_their_own_steps() -> None:
    """The parameters column holds plain JSON data as one text and the rest as values, by index:
    each step reads back its own, whichever way its neighbours are kept."""
    steps = [
        PlanStep(id=f"s{i}", skill="s", params={"t": (i, i)} if i % 3 == 1 else {"x": i, "s": "é" * i})
        for i in range(10)
    ]
    plan = Plan(steps=steps)
    assert [step.params for step in plan.steps] == [step.params for step in steps]
    assert [type(step.params.get("t")) for step in plan.steps] == [tuple if i % 3 == 1 else type(None) for i in range(10)]
    assert plan.steps[2:4] == tuple(steps[2:4]) and plan == Plan(steps=steps)


@pytest.mark.parametrize(
    "bad",
    [
        {"steps": []},
        {"steps": "x"},
        {"steps": [1]},
        {"steps": None},
        {"steps": [{"id": "a"}]},
        {"steps": [{"id": "a", "skill": "s"}, {"id": "a", "skill": "s"}]},
        {"steps": [{"id": "a b", "skill": ""}, {"id": "c", "skill": "s", "extra": 1}]},
        {"steps": [{"id": "a", "skill": "s"}, {"id": "b", "skill": "s", "params": 3}]},
        {"steps": [{"id": "a", "skill": "s"}], "extra": 1},
    ],
)
def test_validation_errors_are_those_of_a_tuple_of_steps(bad: dict[str, Any]) -> None:
    def errors(model: type[BaseModel], data: Any, as_json: bool = False) -> list[Any]:
        with pytest.raises(ValidationError) as caught:
            model.model_validate_json(json.dumps(data)) if as_json else model.model_validate(data)
        return [(e["loc"], e["msg"], e["type"]) for e in caught.value.errors()]

    assert errors(Plan, bad) == errors(OldPlan, bad)
    assert errors(Plan, bad, as_json=True) == errors(OldPlan, bad, as_json=True)
    assert errors(Plan, steps_validated(copy.deepcopy(bad))) == errors(OldPlan, bad)


def test_the_json_schema_is_that_of_a_tuple_of_steps() -> None:
    for mode in ("validation", "serialization"):
        new, old = Plan.model_json_schema(mode=mode), OldPlan.model_json_schema(mode=mode)
        assert new["properties"] == old["properties"] and new["$defs"] == old["$defs"]


def test_the_run_header_is_written_as_the_steps_were() -> None:
    plan = Plan.model_validate({"goal": "g", "steps": copy.deepcopy(MIXED)})
    old = STEPS.validate_python(MIXED)

    def header(steps: Any) -> str:
        return canonical_json({"kind": "run", "plan": {"goal": plan.goal, "steps": steps, "version": 1}, "seed": 7})

    assert header(plan.steps) == header(old)
    assert header(plan.steps) == json.dumps(
        {"kind": "run", "plan": OldPlan(goal="g", steps=old).model_dump(mode="json"), "seed": 7},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    big = Plan.model_validate(echo_plan(2500))  # more than one batch of joined steps
    assert canonical_json([big.steps]) == canonical_json([tuple(big.steps)])


def test_a_run_header_holding_the_marker_itself_is_still_written_right(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(trace.secrets, "token_hex", lambda n: "f" * 2 * n)
    plan = Plan.model_validate({"steps": copy.deepcopy(MIXED)})
    mark = f"\x00plan-steps-{'f' * 32}\x00"
    value = {"goal": mark, "steps": plan.steps}
    assert canonical_json(value) == canonical_json({"goal": mark, "steps": tuple(plan.steps)})


def test_a_plan_holds_its_steps_in_under_70_bytes_each_untracked_by_the_collector() -> None:
    n = 20_000
    data = echo_plan(n)
    gc.collect()
    before = len(gc.get_objects())
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        plan = Plan.model_validate(steps_validated(data))
        del data
        gc.collect()
        held = tracemalloc.get_traced_memory()[0] - start
    finally:
        tracemalloc.stop()
    # measured: 52 bytes a step here (85 with a `bytes` object per step's parameters); 100,000 steps
    # of bench case 6 140 bytes a step before the parameters were packed (195 as a row a step, 543 as
    # `PlanStep` models) and 54 tracked objects (200,025 as models)
    assert held / n < 70, held / n
    assert len(gc.get_objects()) - before < 1_000
    assert plan.steps[n - 1] == PlanStep(id=f"s{n - 1}", skill="echo", params={"x": n - 1, "s": "a"})


@pytest.mark.parametrize("container", [list, tuple])
def test_a_plan_given_as_data_is_validated_a_step_at_a_time(container: type) -> None:
    """`Plan.model_validate(dict)` (`Runtime.run(dict)`) made a model per step before keeping
    them compactly: +73 MiB at its peak for 100,000 steps against +5 kept; now +11."""
    n = 20_000
    data = {"steps": container(echo_plan(n)["steps"])}
    gc.collect()
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        plan = Plan.model_validate(data)
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    assert peak / n < 250, peak / n  # measured: ~115 bytes a step, ~770 a model per step at once
    assert plan.steps == OldPlan.model_validate(data).steps and len(data["steps"]) == n  # the caller's data kept


@pytest.mark.parametrize("container", [list, tuple])
def test_a_strict_validation_is_as_strict_a_step_at_a_time(container: type) -> None:
    """Strict: a list is not a tuple (the steps', or a step's `depends_on`): the same errors."""
    data = {"steps": container([{"id": "a", "skill": "s"}, {"id": "b", "skill": "s", "depends_on": ["a"]}])}
    with pytest.raises(ValidationError) as new:
        Plan.model_validate(data, strict=True)
    with pytest.raises(ValidationError) as old:
        OldPlan.model_validate(data, strict=True)
    assert new.value.errors() == old.value.errors()


def test_the_planning_layer_reads_fields_without_making_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    from aos_core.planning.validation import plan_graph, validate_plan

    plan = Plan.model_validate(echo_plan(50))
    made = 0
    real = PlanSteps._make

    def counted(self: PlanSteps, i: int) -> Any:
        nonlocal made
        made += 1
        return real(self, i)

    monkeypatch.setattr(PlanSteps, "_make", counted)
    plan_graph(plan)
    validate_plan(plan, {})
    assert made == 0


@pytest.mark.parametrize("indent", [None, 2])
def test_a_plan_read_from_its_text_a_step_at_a_time_is_the_plan_parsed_whole(indent: int | None) -> None:
    from pydantic_core import from_json

    from aos_core.contracts.plan_text import data_with_steps

    document = {"version": 1, "goal": "g", "steps": MIXED}
    text = json.dumps(document, indent=indent)
    read = data_with_steps(text, ("steps",))
    assert read is not None and type(read["steps"]).__name__ == "ValidatedSteps"
    plan = Plan.model_validate(read)
    assert plan == Plan.model_validate(steps_validated(from_json(text)))
    check_reads_as_before(plan, MIXED)
    header = canonical_json({"kind": "run", "plan": {"goal": "g", "steps": plan.steps, "version": 1}, "seed": 1})
    again = data_with_steps(header, ("plan", "steps"))
    assert again is not None and Plan.model_validate(again["plan"]) == plan and again["seed"] == 1


@pytest.mark.parametrize(
    "text",
    [
        '{"steps": [{"id": "a"}]}',  # a step that is not valid: read whole, for the errors to be the same
        '{"steps": [{"id": "a", "skill": "s"},]}',
        '{"steps": [{"id": "a", "skill": "s"}]} x',
        '{"steps": []}',
        "[1]",
        '{"steps": [{"id": "a", "skill": "s", "params": {"n": 1' + "0" * 5000 + "}}]}",
    ],
)
def test_text_not_read_a_step_at_a_time_is_left_to_the_whole_parse(text: str) -> None:
    from aos_core.contracts.plan_text import data_with_steps

    read = data_with_steps(text, ("steps",))
    assert read is None or read == {"steps": []}


def test_a_file_plan_and_a_replayed_header_are_read_a_step_at_a_time(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any, runtime_factory: Any
) -> None:
    from aos_core.cli.runs import _parsed_file
    from aos_core.contracts import plan_text
    from aos_core.runs import replay as replay_module

    calls: list[tuple[str, ...]] = []
    real = plan_text.data_with_steps

    def spy(text: str, path: tuple[str, ...]) -> Any:
        calls.append(path)
        return real(text, path)

    monkeypatch.setattr(plan_text, "data_with_steps", spy)
    monkeypatch.setattr(replay_module, "data_with_steps", spy)
    file = tmp_path / "plan.json"
    file.write_text(json.dumps(echo_plan(3)))
    assert _parsed_file(str(file)) == Plan.model_validate(echo_plan(3)) and calls == [("steps",)]
    calls.clear()
    runtime = runtime_factory()
    result = runtime.run(chain_plan())
    replay = runtime.replay(result.run_id)
    assert replay.matched and calls == [("plan", "steps")]
