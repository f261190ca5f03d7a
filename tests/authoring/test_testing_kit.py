"""aos_core.testing: the fakes, `runtime_for`, `check_plugin` and `check_skill_contract` catching
each kind of broken promise."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from aos_core import ErrorCode, Plan, SkillError, hookimpl
from aos_core.execution.clock import VirtualClock
from aos_core.testing import (
    ContractViolation,
    FakePlugin,
    FixedClock,
    ScriptedPlanner,
    check_plugin,
    check_skill_contract,
    fake_skill,
    runtime_for,
    seeded_random,
)


class Pair(BaseModel):
    model_config = ConfigDict(extra="forbid")

    a: int = Field(ge=0, le=1000)
    b: int = Field(ge=0, le=1000)


def add(params: Pair, ctx: Any) -> dict[str, int]:
    return {"sum": params.a + params.b}


def test_importing_the_module_imports_nothing_heavy() -> None:
    """`import aos_core.testing` loads no hypothesis, no runtime: names load on first use."""
    code = "import sys, aos_core.testing; print([m for m in ('hypothesis', 'aos_core.runtime') if m in sys.modules])"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_fixed_clock_is_the_virtual_clock_and_seeded_random_repeats() -> None:
    assert FixedClock is VirtualClock
    assert seeded_random(3, "step").random() == seeded_random(3, "step").random()
    assert seeded_random(3, "step").random() != seeded_random(3, "other").random()


def test_a_fake_skill_echoes_by_default_and_records_its_calls() -> None:
    echo = fake_skill("echo")
    with runtime_for(skills=[echo]) as runtime:
        outcome = runtime.execute("echo", {"x": 1})
    assert outcome.ok and outcome.output == {"x": 1}
    assert [call.model_dump() for call in echo.calls] == [{"x": 1}]


def test_a_fake_skill_can_return_raise_or_run_async_code() -> None:
    async def slow_add(params: Pair, ctx: Any) -> dict[str, int]:
        await asyncio.sleep(0)
        return add(params, ctx)

    skills = [
        fake_skill("fixed", returns={"answer": 42}),
        fake_skill("refuses", raises=SkillError(ErrorCode.POLICY_VIOLATION, "not here")),
        fake_skill("add", slow_add, input_model=Pair),
    ]
    with runtime_for(skills=skills) as runtime:
        assert runtime.execute("fixed", {}).output == {"answer": 42}
        assert runtime.execute("refuses", {}).error.code == ErrorCode.POLICY_VIOLATION
        assert runtime.execute("add", {"a": 2, "b": 3}).output == {"sum": 5}
        assert runtime.registry.skills["add"].is_async


def test_a_scripted_planner_answers_in_order_then_says_it_ran_out() -> None:
    plan = Plan.model_validate({"steps": [{"id": "s", "skill": "echo", "params": {}}]})
    planner = ScriptedPlanner(plan)
    with runtime_for(FakePlugin(planners=[planner]), skills=[fake_skill("echo")]) as runtime:
        assert runtime.plan("g", planner="scripted").plan == plan
        second = runtime.plan("g", planner="scripted")
    assert second.error is not None and "has 1 plan(s)" in second.error.message
    assert len(planner.requests) == 2


def test_runtime_for_is_deterministic_and_holds_only_the_given_plugins() -> None:
    """Seed 0 and a virtual clock by default; entry points of installed distributions are not loaded."""

    def draw(params: Any, ctx: Any) -> dict[str, Any]:
        return {"n": ctx.random.random(), "at": ctx.clock.now().isoformat()}

    outputs = []
    for _ in range(2):
        with runtime_for(skills=[fake_skill("draw", draw, deterministic=False)]) as runtime:
            outputs.append(runtime.execute("draw", {}).output)
            assert set(runtime.skills) == {"draw"}
    assert outputs[0] == outputs[1]
    assert outputs[0]["at"] == "2026-01-01T00:00:00+00:00"


class BrokenHookArgument:
    @hookimpl
    def aos_register_skills(self, register: Any, extra: Any) -> None:
        register(fake_skill("never"))


def test_check_plugin_and_runtime_for_refuse_a_broken_plugin_with_the_loaders_reason() -> None:
    from aos_core.testing import load_plugin

    _, report = load_plugin(BrokenHookArgument())
    assert report.status == "failed" and report.reason
    with pytest.raises(ContractViolation) as by_check:
        check_plugin(BrokenHookArgument())
    with pytest.raises(ContractViolation) as by_runtime:
        runtime_for(BrokenHookArgument())
    assert str(by_check.value) == str(by_runtime.value) == report.reason
    with runtime_for(BrokenHookArgument(), strict=False) as runtime:  # or inspect the report yourself
        assert [p.status for p in runtime.plugins if p.distribution is None] == ["failed"]


def test_check_plugin_by_import_path_reports_an_import_failure_like_the_loader() -> None:
    with pytest.raises(ContractViolation, match=r"^cannot import no_such_plugin_module: ModuleNotFoundError"):
        check_plugin("no_such_plugin_module")


def test_a_conforming_skill_passes_with_a_report_of_what_was_tried() -> None:
    report = check_skill_contract(fake_skill("add", add, input_model=Pair), max_examples=20, invalid_examples=10)
    checked = report.skills["add"]
    assert (checked.executed, checked.valid_examples >= 20, checked.invalid_examples >= 10) == (True, True, True)
    assert checked.outcomes["ok"] == checked.valid_examples
    assert checked.outcomes["SCHEMA_VALIDATION_FAILED"] == checked.invalid_examples


def violation(skill: Any, **options: Any) -> str:
    with pytest.raises(ContractViolation) as caught:
        check_skill_contract(skill, max_examples=30, **options)
    return str(caught.value)


def test_a_crash_fails_the_check_even_when_declared() -> None:
    def divide(params: Pair, ctx: Any) -> dict[str, float]:
        return {"q": params.a / params.b}

    for codes in ([], ["SKILL_CRASHED"]):
        message = violation(fake_skill("divide", divide, input_model=Pair, failure_codes=codes))
        assert "crashed" in message and "ZeroDivisionError" in message
        assert '"b": 0' in message  # the smallest example that shows it


def test_an_undeclared_failure_code_fails_the_check() -> None:
    def picky(params: Pair, ctx: Any) -> dict[str, int]:
        if params.a > params.b:
            raise SkillError(ErrorCode.HTTP_4XX, "a must not exceed b")
        return add(params, ctx)

    assert "HTTP_4XX" in violation(fake_skill("picky", picky, input_model=Pair))
    check_skill_contract(fake_skill("picky", picky, input_model=Pair, failure_codes=["HTTP_4XX"]), max_examples=30)


def test_output_that_does_not_fit_its_model_fails_the_check() -> None:
    class Sum(BaseModel):
        sum: int

    skill = fake_skill("wrong", returns={"total": 1}, input_model=Pair, output_model=Sum)
    assert "OUTPUT_VALIDATION_FAILED" in violation(skill)


def test_output_that_does_not_fit_its_model_fails_the_check_even_when_declared() -> None:
    """Declaring OUTPUT_VALIDATION_FAILED covers a skill's own refusals, not a wrong shape on every call."""

    class Sum(BaseModel):
        sum: int

    skill = fake_skill(
        "wrong", returns={"total": 1}, input_model=Pair, output_model=Sum, failure_codes=["OUTPUT_VALIDATION_FAILED"]
    )
    message = violation(skill)
    assert "returned output that does not fit Sum" in message
    assert "declaring OUTPUT_VALIDATION_FAILED does not cover it" in message
    assert message.endswith('params: {"a": 0, "b": 0}')  # the smallest example


def test_a_skill_may_still_fail_with_its_own_declared_output_validation_failed() -> None:
    def too_big(params: Pair, ctx: Any) -> dict[str, int]:
        if params.a > 500:
            raise SkillError(ErrorCode.OUTPUT_VALIDATION_FAILED, "the answer would be over the size limit")
        return add(params, ctx)

    check_skill_contract(
        fake_skill("too_big", too_big, input_model=Pair, failure_codes=["OUTPUT_VALIDATION_FAILED"]), max_examples=30
    )


class Ordered(BaseModel):
    """The schema says two integers; a validator also wants a <= b, which the schema does not say."""

    model_config = ConfigDict(extra="forbid")

    a: int = Field(ge=0, le=1000)
    b: int = Field(ge=0, le=1000)

    @model_validator(mode="after")
    def _ordered(self) -> Ordered:
        if self.a > self.b:
            raise ValueError("a must not exceed b")
        return self


@pytest.mark.parametrize("execute", [True, False])
def test_a_schema_that_accepts_what_its_model_refuses_fails_the_check(execute: bool) -> None:
    """SCHEMA_VALIDATION_FAILED for params generated from the schema is a broken promise, executed or not."""
    message = violation(fake_skill("ordered", add, input_model=Ordered), execute=execute)
    assert "its input schema accepts these params but Ordered refuses them" in message
    assert "a must not exceed b" in message
    assert message.endswith('params: {"a": 1, "b": 0}')  # the smallest example


class OneOfTwo(BaseModel):
    """Exactly one of `text` and `data`, and never `x` with `y`, said in the schema as the validator says it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["text"], "not": {"required": ["data"]}},
                {"required": ["data"], "not": {"required": ["text"]}},
            ],
            "not": {"required": ["x", "y"]},
        },
    )

    text: str | SkipJsonSchema[None] = None
    data: list[int] | SkipJsonSchema[None] = None
    x: int = 0
    y: int = 0

    @model_validator(mode="after")
    def _exactly_one(self) -> OneOfTwo:
        if (self.text is None) == (self.data is None):
            raise ValueError("give exactly one of text and data")
        if "x" in self.model_fields_set and "y" in self.model_fields_set:
            raise ValueError("give x or y, not both")
        return self


def test_a_schema_that_says_which_fields_go_together_passes() -> None:
    """Generated inputs honour an object's oneOf branches and `not: {required: [...]}`."""
    report = check_skill_contract(fake_skill("one_of_two", input_model=OneOfTwo), max_examples=60)
    assert report.skills["one_of_two"].outcomes["ok"] == report.skills["one_of_two"].valid_examples


def test_a_deterministic_skill_that_is_not_fails_the_check() -> None:
    def roll(params: Any, ctx: Any) -> dict[str, float]:
        return {"n": ctx.random.random()}

    assert "deterministic=True" in violation(fake_skill("roll", roll, deterministic=True))
    check_skill_contract(fake_skill("roll", roll, deterministic=False), max_examples=10)


def test_a_model_that_accepts_what_its_schema_refuses_fails_the_check() -> None:
    class Lenient(BaseModel):
        """The schema says integer; a validator quietly accepts anything and keeps 0."""

        model_config = ConfigDict(extra="forbid")
        n: int

        @classmethod
        def model_validate(cls, obj: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            fixed = dict(obj) if isinstance(obj, dict) else obj
            if isinstance(fixed, dict) and not isinstance(fixed.get("n"), int):
                fixed["n"] = 0
            return super().model_validate(fixed, **kwargs)

    message = violation(fake_skill("lenient", input_model=Lenient), execute=False)
    assert "its input schema refuses params" in message and "but Lenient accepts them" in message


def test_network_skills_are_checked_against_their_models_without_being_called() -> None:
    called = fake_skill("fetch", input_model=Pair, network=True)
    report = check_skill_contract(called, max_examples=10)
    assert not report.skills["fetch"].executed and called.calls == []
    check_skill_contract(called, max_examples=5, execute=True)
    assert called.calls


def test_examples_are_always_tried_and_a_plugin_can_be_checked_skill_by_skill() -> None:
    seen: list[Any] = []

    def note(params: Any, ctx: Any) -> dict[str, Any]:
        seen.append(params.model_dump())
        return {}

    plugin = FakePlugin(skills=[fake_skill("note", note), fake_skill("other")])
    report = check_skill_contract(
        plugin, skill="note", examples=[{"marker": "mine"}], max_examples=0, invalid_examples=0
    )
    assert list(report.skills) == ["note"] and {"marker": "mine"} in seen
    with pytest.raises(ContractViolation, match="registers no skill 'absent'; it registers: note, other"):
        check_skill_contract(plugin, skill="absent")


def test_an_enum_choice_model_is_explored_fully() -> None:
    class Choice(BaseModel):
        unit: Literal["C", "F", "K"]

    seen: set[str] = set()

    def record(params: Any, ctx: Any) -> dict[str, Any]:
        seen.add(params.unit)
        return {}

    check_skill_contract(fake_skill("choose", record, input_model=Choice), max_examples=30)
    assert seen == {"C", "F", "K"}


FIXTURE_TESTS = '''
import pytest
from aos_core.testing import fake_skill

CLOSED = []


def stamp(params, ctx):
    return {"at": ctx.clock.now().isoformat(), "n": ctx.random.random()}


def test_a_runtime_holds_only_the_plugin_under_test(aos_runtime_factory, aos_clock):
    runtime = aos_runtime_factory(skills=[fake_skill("stamp", stamp, deterministic=False)])
    assert set(runtime.skills) == {"stamp"}
    first = runtime.execute("stamp", {}).output
    aos_clock.advance(90)
    assert runtime.execute("stamp", {}).output["at"] == "2026-01-01T00:01:30+00:00"
    assert first["at"] == "2026-01-01T00:00:00+00:00"
    CLOSED.append(runtime)


def test_runtimes_are_closed_after_the_test():
    assert CLOSED and CLOSED[0]._closed


def test_seeded_randomness_repeats(aos_random, aos_seed):
    import random
    assert aos_seed == 0 and aos_random.random() == random.Random(0).random()


class TestAnotherSeed:
    @pytest.fixture
    def aos_seed(self):
        return 5

    def test_the_runtime_uses_the_overridden_seed(self, aos_runtime_factory):
        runtime = aos_runtime_factory(skills=[fake_skill("stamp", stamp, deterministic=False)])
        assert runtime.seed == 5


def test_a_broken_plugin_fails_the_test_with_the_loaders_reason(aos_runtime_factory):
    from aos_core.testing import ContractViolation
    with pytest.raises(ContractViolation, match="cannot import no_such_module"):
        aos_runtime_factory("no_such_module")
'''


def test_the_pytest_plugin_gives_fixtures_to_any_pytest_session(tmp_path: Any) -> None:
    """The fixtures come from the pytest11 entry point alone: no conftest, no import of ours."""
    (tmp_path / "test_fixtures.py").write_text(FIXTURE_TESTS)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_fixtures.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


class _NotJson:
    """A type pydantic accepts (arbitrary_types_allowed) but cannot describe in JSON Schema."""


class _ArbitraryInput(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    x: _NotJson


def test_a_model_without_a_json_schema_is_refused_in_one_line() -> None:
    """pydantic's message ends with a paragraph holding a URL: the reason is still one line."""
    with pytest.raises(ContractViolation) as caught:
        check_plugin(FakePlugin(skills=[fake_skill("opaque", input_model=_ArbitraryInput)]))
    reason = str(caught.value)
    assert reason.startswith("skill 'opaque': cannot generate a JSON Schema from Input (PydanticInvalidForJsonSchema: ")
    assert reason.endswith("_NotJson'>)); use JSON-compatible field types"), reason
    assert "\n" not in reason and "errors.pydantic.dev" not in reason
