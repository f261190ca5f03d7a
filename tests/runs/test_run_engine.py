"""Running plans: dependency order, concurrency, failure policy, durable records."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aos_core import ErrorCode, Policy, ResourceContract, RetryPolicy, SkillError
from aos_core.testing.fakes import FakePlugin, fake_skill

from .conftest import chain_plan


def test_a_plan_runs_in_dependency_order_and_passes_outputs(runtime_factory: Any) -> None:
    result = runtime_factory().run(chain_plan())
    assert result.ok and result.status == "completed"
    assert list(result.outcomes) == ["fetch", "first", "second", "label"]
    assert result.outcomes["first"].output["value"] == 2  # items[1].n == 1 on the first fetch
    assert result.outcomes["second"].output["value"] == 4
    assert result.outcomes["label"].output == {"picked": {"text": "value=4"}}
    assert result.state == {"doubled_1": 2, "doubled_2": 4}
    assert result.spent.calls == 4 and str(result.spent.money) == "0.002"
    assert all(o.trace_id == result.run_id and o.step_id == s for s, o in result.outcomes.items())


def test_independent_steps_run_concurrently_within_the_limit(runtime_factory: Any) -> None:
    live = {"now": 0, "max": 0}

    async def work(params: Any, ctx: Any) -> dict[str, Any]:
        live["now"] += 1
        live["max"] = max(live["max"], live["now"])
        await asyncio.sleep(0.01)
        live["now"] -= 1
        return {}

    plugin = FakePlugin(skills=[fake_skill("work", work)])
    plan = {"steps": [{"id": f"s{i}", "skill": "work", "params": {}} for i in range(12)]}
    result = runtime_factory(plugins=[plugin], contract=ResourceContract(max_concurrency=3)).run(plan)
    assert result.ok and live["max"] == 3


def failing_plugin(skills: Any) -> FakePlugin:
    broken = fake_skill("broken", raises=SkillError(ErrorCode.HTTP_4XX, "404"), failure_codes=["HTTP_4XX"])
    return FakePlugin(skills=[*skills.values(), broken])


def two_branches() -> dict[str, Any]:
    return {
        "steps": [
            {"id": "bad", "skill": "broken", "params": {}},
            {"id": "after_bad", "skill": "pick", "params": {"v": "${steps.bad.output.x}"}},
            {"id": "other", "skill": "double", "params": {"x": 3}},
        ]
    }


def test_on_failure_stop_skips_what_had_not_started(runtime_factory: Any, skills: Any) -> None:
    runtime = runtime_factory(plugins=[failing_plugin(skills)], contract=ResourceContract(max_concurrency=1))
    result = runtime.run(two_branches())
    assert not result.ok and result.status == "failed" and result.failed_step == "bad"
    assert result.skipped == ("after_bad", "other")


def test_on_failure_continue_runs_independent_steps(runtime_factory: Any, skills: Any) -> None:
    policy = Policy(on_step_failure="continue", retry=RetryPolicy(max_attempts=1))
    result = runtime_factory(plugins=[failing_plugin(skills)], policy=policy).run(two_branches())
    assert result.failed_step == "bad" and result.skipped == ("after_bad",)
    assert result.outcomes["other"].ok


def test_an_invalid_plan_is_refused_and_nothing_is_recorded(runtime_factory: Any) -> None:
    runtime = runtime_factory()
    result = runtime.run({"steps": [{"id": "a", "skill": "nope", "params": {}}]})
    assert not result.ok and result.run_id == "" and result.error.code == ErrorCode.SKILL_NOT_FOUND
    assert runtime.runs() == []


def test_runs_are_listed_and_shown_from_the_store(runtime_factory: Any) -> None:
    runtime = runtime_factory()
    first = runtime.run(chain_plan())
    second = runtime.run(chain_plan())
    listed = runtime.runs()
    assert [r.run_id for r in listed] == [second.run_id, first.run_id]
    assert listed[0].status == "completed" and listed[0].committed == listed[0].steps == 4
    trace = runtime.trace(first.run_id[:-1])  # a unique prefix is enough
    assert trace.end["status"] == "completed"


def test_the_canonical_trace_has_no_run_id_or_timestamps_and_sorted_keys(runtime_factory: Any) -> None:
    runtime = runtime_factory()
    result = runtime.run(chain_plan())
    text = runtime.trace(result.run_id).text()
    assert result.run_id not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["kind"] for line in lines] == ["run", "step", "step", "step", "step", "end"]
    assert all(list(line) == sorted(line) for line in lines)
    assert lines[-1]["spent"]["money"] == "0.002"  # decimals as strings
    assert lines[1]["params"] == {"q": "inventory"} and lines[2]["params"] == {"x": 1}


def test_the_same_work_gives_the_same_canonical_trace(runtime_factory: Any, tmp_path: Any) -> None:
    from aos_core.execution.clock import VirtualClock

    from .conftest import make_skills

    texts = []
    for name in ("one", "two"):
        plugin = FakePlugin(skills=list(make_skills().values()))
        runtime = runtime_factory(
            plugins=[plugin], store=tmp_path / name / "runs.sqlite3", clock=VirtualClock(tick=0.001)
        )
        result = runtime.run(chain_plan())
        texts.append(runtime.trace(result.run_id).text())
    assert texts[0] == texts[1]


def test_run_budget_is_per_run_and_enforced(runtime_factory: Any) -> None:
    runtime = runtime_factory(contract=ResourceContract(max_calls=2))
    result = runtime.run(chain_plan())
    assert not result.ok and result.failed_step == "second"
    assert result.outcomes["second"].error.code == ErrorCode.BUDGET_EXCEEDED
    assert runtime.run(chain_plan()).outcomes["first"].ok  # a new run gets a fresh budget


def test_the_fast_outcome_record_equals_the_model_dump(runtime_factory: Any, skills: Any) -> None:
    from aos_core import Cost, StructuredOutcome, make_error
    from aos_core.runs.trace import outcome_json

    samples = [
        StructuredOutcome(
            ok=True,
            output={"a": [1, 2.5, None]},
            skill="s",
            skill_version="1.0.0",
            cost=Cost(money="0.00315", calls=1),
            duration_ms=1.25,
            attempts=1,
            trace_id="run",
            step_id="x",
        ),
        StructuredOutcome(
            ok=False,
            error=make_error("RATE_LIMITED", "slow", details={"n": 1}, retry_after_ms=5),
            skill="s",
            cost=Cost(money="1E-7", input_tokens=3),
        ),
        *runtime_factory().run(chain_plan()).outcomes.values(),
    ]
    for outcome in samples:
        assert outcome_json(outcome) == {**outcome.model_dump(mode="json"), "trace_id": None}
