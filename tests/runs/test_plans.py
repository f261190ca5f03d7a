"""Plans: validation finds what is wrong before anything runs; references keep their types."""

from __future__ import annotations

import re
from typing import Any

import pytest

from aos_core import ErrorCode, Plan
from aos_core.planning import dependencies, resolve_references, topological_order

from .conftest import chain_plan


def problems(runtime: Any, plan: dict[str, Any]) -> list[tuple[str | None, str, str]]:
    result = runtime.check_plan(plan)
    return [(p.step_id, p.code.value, p.message) for p in result.problems]


def step(id: str, skill: str, params: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {"id": id, "skill": skill, "params": params or {}, **extra}


def test_a_valid_plan_has_no_problems(runtime_factory: Any) -> None:
    result = runtime_factory().check_plan(chain_plan())
    assert result.ok and result.plan is not None and not result.problems


def test_unknown_skills_are_found_with_a_suggestion(runtime_factory: Any) -> None:
    found = problems(runtime_factory(), {"steps": [step("a", "dubble", {"x": 1})]})
    assert found == [("a", "SKILL_NOT_FOUND", "unknown skill 'dubble'; did you mean double?")]


def test_cycles_are_found(runtime_factory: Any) -> None:
    plan = {
        "steps": [
            step("a", "double", {"x": "${steps.c.output.value}"}),
            step("b", "double", {"x": "${steps.a.output.value}"}),
            step("c", "double", {"x": "${steps.b.output.value}"}),
        ]
    }
    assert (None, "INVALID_INPUT", "steps form a dependency cycle: a, b, c") in problems(runtime_factory(), plan)


def test_references_to_missing_steps_are_found(runtime_factory: Any) -> None:
    plan = {
        "steps": [step("a", "double", {"x": "${steps.nope.output.value}"}), step("b", "pick", depends_on=["ghost"])]
    }
    found = problems(runtime_factory(), plan)
    assert ("a", "INVALID_INPUT", "${steps.nope.output.value} refers to unknown step 'nope'") in found
    assert ("b", "INVALID_INPUT", "depends_on names unknown step 'ghost'") in found


def test_references_to_fields_the_output_schema_lacks_are_found(runtime_factory: Any) -> None:
    plan = {"steps": [step("a", "double", {"x": 1}), step("b", "double", {"x": "${steps.a.output.valu}"})]}
    [(step_id, code, message)] = problems(runtime_factory(), plan)
    assert (step_id, code) == ("b", "SCHEMA_VALIDATION_FAILED")
    assert "has no field 'valu' (fields: value, noise, at)" in message


def test_paths_into_arrays_and_free_objects_are_accepted(runtime_factory: Any) -> None:
    plan = chain_plan()
    plan["steps"].append(step("deep", "pick", {"v": "${steps.fetch.output.items[0].anything.below}"}))
    assert problems(runtime_factory(), plan) == []


def test_params_that_do_not_fit_the_input_schema_are_found(runtime_factory: Any) -> None:
    plan = {"steps": [step("a", "double", {"x": "two"}), step("b", "double", {})]}
    found = problems(runtime_factory(), plan)
    assert (
        "a",
        "SCHEMA_VALIDATION_FAILED",
        "params do not fit double: x: Input should be a valid integer, unable to parse string as an integer",
    ) in found
    assert ("b", "SCHEMA_VALIDATION_FAILED", "params do not fit double: x: Field required") in found


def test_a_referenced_param_is_not_judged_before_run_time(runtime_factory: Any) -> None:
    plan = {"steps": [step("a", "fetch"), step("b", "double", {"x": "${steps.a.output.source}"})]}
    assert problems(runtime_factory(), plan) == []


def test_duplicate_step_ids_are_refused(runtime_factory: Any) -> None:
    found = problems(runtime_factory(), {"steps": [step("a", "pick"), step("a", "pick")]})
    assert found[0][1] == "SCHEMA_VALIDATION_FAILED" and "used twice" in found[0][2]


def test_references_add_dependencies_implicitly() -> None:
    plan = Plan.model_validate(chain_plan())
    assert dependencies(plan) == {"fetch": set(), "first": {"fetch"}, "second": {"first"}, "label": {"second"}}
    assert topological_order(plan) == (["fetch", "first", "second", "label"], [])


def test_the_kept_graph_holds_only_steps_with_references_or_dependencies() -> None:
    """A run keeps its plan's graph for its whole length: a key per step of a large plan of
    independent steps was most of it. `dependencies()` still answers for every step."""
    from aos_core.planning.validation import plan_graph

    plan = Plan.model_validate(chain_plan())
    graph = plan_graph(plan)
    assert graph.dependencies == {"first": {"fetch"}, "second": {"first"}, "label": {"second"}}
    assert list(graph.references) == ["first", "second", "label"]
    assert dependencies(plan)["fetch"] == set()
    dependencies(plan)["fetch"].add("x")  # a copy: the kept graph does not change
    assert "fetch" not in plan_graph(plan).dependencies


def test_a_whole_reference_keeps_its_type_and_an_embedded_one_becomes_text() -> None:
    outputs = {"a": {"items": [{"n": 3}], "flag": True, "name": "x"}}
    params = {
        "whole": "${steps.a.output.items}",
        "number": "${steps.a.output.items[0].n}",
        "text": "n=${steps.a.output.items[0].n} flag=${steps.a.output.flag} name=${steps.a.output.name}",
        "nested": [{"deep": "${steps.a.output.flag}"}],
    }
    assert resolve_references(params, outputs) == {
        "whole": [{"n": 3}],
        "number": 3,
        "text": "n=3 flag=true name=x",
        "nested": [{"deep": True}],
    }


@pytest.mark.parametrize(
    "goal",
    ["fetch https://example.org/data.json and pick `items[0]` then summarise it", "just answer: what is AOS?"],
)
def test_the_stub_planner_is_deterministic(goal: str) -> None:
    from aos_core import Runtime

    with Runtime() as one, Runtime() as two:
        first, second = one.plan(goal), two.plan(goal)
    assert first.ok and first.plan == second.plan and first.planner == "stub"


def test_the_stub_planner_builds_a_three_skill_plan() -> None:
    from aos_core import Runtime

    with Runtime() as runtime:
        result = runtime.plan("fetch https://example.org/x.json, select `items[?n > `1`].name`, summarise")
    assert result.ok, result.error
    assert [s.skill for s in result.plan.steps] == ["http_call", "json_transform", "llm_invoke"]
    assert result.plan.steps[1].params["data"] == "${steps.fetch.output.body}"


def test_an_unknown_planner_is_a_result_not_an_exception(runtime_factory: Any) -> None:
    result = runtime_factory().plan("anything", planner="oracle")
    assert not result.ok and result.error.code == ErrorCode.SKILL_NOT_FOUND
    assert "known planners: stub" in result.error.message


def test_an_invalid_plan_from_a_planner_is_a_validation_result(runtime_factory: Any, skills: Any) -> None:
    from aos_core.testing.fakes import FakePlugin, ScriptedPlanner

    bad = {"steps": [{"id": "a", "skill": "double", "params": {"x": "${steps.zz.output.value}"}}]}
    runtime = runtime_factory(plugins=[FakePlugin(skills=list(skills.values()), planners=[ScriptedPlanner(bad)])])
    result = runtime.plan("g", planner="scripted")
    assert not result.ok and result.error.code == ErrorCode.OUTPUT_VALIDATION_FAILED
    assert result.error.category == "VALIDATION"
    assert result.problems[0].message == "${steps.zz.output.value} refers to unknown step 'zz'"


def test_a_plan_equals_its_copy_whether_or_not_it_was_analysed() -> None:
    from aos_core.planning import dependencies

    analysed = Plan.model_validate(chain_plan())
    dependencies(analysed)
    assert analysed == Plan.model_validate(chain_plan())
    assert analysed != Plan.model_validate({**chain_plan(), "goal": "other"})


@pytest.mark.parametrize(
    ("plan", "where"),
    [
        ({"steps": [step("a", "double", {"x": {"deep": ["ok", "\ud800"]}})]}, "steps.0.params.x.deep.1"),
        ({"steps": [step("a", "double", {"x\udfff": 1})]}, "steps.0.params.x\\udfff"),
        # a parameter that is not plain JSON data (a tuple) is kept unpacked: walked, not written
        ({"steps": [step("a", "double"), step("b", "double", {"x": ("\udc80",)})]}, "steps.1.params.x.0"),
        ({"goal": "\udc80", "steps": [step("a", "double", {"x": 1})]}, "goal"),
    ],
)
def test_a_string_that_is_not_unicode_text_is_refused_with_where_it_is(
    runtime_factory: Any, plan: dict[str, Any], where: str
) -> None:
    """A lone surrogate (Python's json reads the escape "\\ud800" into one) made `aos run` end in
    an internal error where the run header was written as UTF-8: refused at intake instead."""
    with pytest.raises(ValueError, match=f"{re.escape(where)} holds a lone surrogate"):
        Plan.model_validate(plan)
    result = runtime_factory().run(plan)  # never raises: a failed run that names the place
    assert result.status == "failed" and result.error is not None
    assert result.error.code == ErrorCode.SCHEMA_VALIDATION_FAILED and where in result.error.message
    result.error.message.encode("utf-8")  # the message itself is writable


def _nested(levels: int, kind: type = dict) -> Any:
    """Arrays or objects nested `levels` deep around 1 (the outermost counts as the first level)."""
    value: Any = 1
    for _ in range(levels):
        value = {"a": value} if kind is dict else [value] if kind is list else (value,)
    return value


@pytest.mark.parametrize("levels", [101, 150, 200, 300, 5000])
@pytest.mark.parametrize("kind", [dict, list, tuple])
def test_params_nested_too_deep_to_read_back_are_refused_at_intake(
    runtime_factory: Any, levels: int, kind: type
) -> None:
    """Params nested a few hundred levels deep were packed, then could not be read back (the run
    header's writer or pydantic-core's parser stopped): `Runtime.run` raised ValueError. A plan's
    params nest at most 100 levels, as the command line's and the server's JSON do."""
    plan = {"steps": [step("a", "double", {"x": 1}), step("b", "double", {"x": _nested(levels - 1, kind)})]}
    with pytest.raises(ValueError, match=r"step 1 \('b'\) has params nested more than 100 levels deep"):
        Plan.model_validate(plan)
    runtime = runtime_factory()
    result = runtime.run(plan)  # never raises
    assert result.status == "failed" and result.error is not None
    assert result.error.code == ErrorCode.SCHEMA_VALIDATION_FAILED and "nested more than 100" in result.error.message
    assert runtime.runs() == []  # nothing recorded


@pytest.mark.parametrize("kind", [dict, list, tuple])
def test_params_nested_100_levels_are_taken_and_run(runtime_factory: Any, kind: type) -> None:
    plan = {"steps": [step("a", "double", {"x": 2, "deep": _nested(99, kind)})]}
    assert Plan.model_validate(plan).steps[0].params["x"] == 2
    assert runtime_factory().run(plan).ok


def test_text_outside_ascii_and_surrogate_pairs_are_unicode_text(runtime_factory: Any) -> None:
    plan = {"goal": "caf\u00e9 \U0001f600", "steps": [step("a", "double", {"x": 2, "note": "\U0001f600 \u00e9"})]}
    assert Plan.model_validate(plan).goal == "caf\u00e9 \U0001f600"
    assert runtime_factory().run(plan).ok


def test_a_refused_run_carries_its_first_problems_and_how_many_there_are(runtime_factory: Any) -> None:
    """Every problem of a 100,000-step plan, dumped into the refusal's details, was 20 MiB kept
    in the run's result; `check_plan` still lists them all."""
    from aos_core.planning.service import SHOWN_PROBLEMS

    plan = {"steps": [step(f"s{i}", "dubble", {"x": i}) for i in range(SHOWN_PROBLEMS + 5)]}
    runtime = runtime_factory()
    result = runtime.run(plan)
    assert result.error is not None and result.error.code == ErrorCode.SKILL_NOT_FOUND
    assert result.error.message.endswith(f"(+{SHOWN_PROBLEMS + 4} more)")
    details = result.error.details
    assert details["problems_total"] == SHOWN_PROBLEMS + 5
    assert [p["step_id"] for p in details["problems"]] == [f"s{i}" for i in range(SHOWN_PROBLEMS)]
    assert len(runtime.check_plan(plan).problems) == SHOWN_PROBLEMS + 5
