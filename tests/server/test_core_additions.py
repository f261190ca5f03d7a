"""The two small public additions to `Runtime` the server needs: `drain()` and `budgets=` on
direct calls and planning. (Kept here, beside the server that uses them.)"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from aos_core import ErrorCode, Plan, ResourceContract, Runtime
from aos_core.testing import FakePlugin, fake_skill

PLAN = {
    "goal": "slow then two",
    "steps": [
        {"id": "slow", "skill": "slow"},
        {"id": "after", "skill": "note", "depends_on": ["slow"]},
        {"id": "last", "skill": "note", "depends_on": ["after"]},
    ],
}


def _runtime(store: Path, calls: list[str], release: threading.Event) -> Runtime:
    def slow(params: Any, ctx: Any) -> dict[str, Any]:
        calls.append(ctx.step_id)
        release.wait(10)
        return {}

    def note(params: Any, ctx: Any) -> dict[str, Any]:
        calls.append(ctx.step_id)
        return {}

    skills = [fake_skill("slow", slow, blocking=True, timeout_ms=20_000), fake_skill("note", note)]
    return Runtime(plugins=[FakePlugin(skills=skills)], entry_points=False, store=store, seed=1)


def test_drain_lets_the_step_in_flight_commit_and_starts_no_other(tmp_path: Path) -> None:
    calls: list[str] = []
    release = threading.Event()
    started = threading.Event()
    results: list[Any] = []
    with _runtime(tmp_path / "runs.sqlite3", calls, release) as runtime:
        thread = threading.Thread(
            target=lambda: results.append(
                runtime.run(PLAN, on_event=lambda e: e["kind"] == "step_started" and started.set())
            )
        )
        thread.start()
        assert started.wait(10)
        runtime.drain()
        release.set()
        thread.join(10)
        drained = results[0]
        assert drained.status == "interrupted" and list(drained.outcomes) == ["slow"] and drained.outcomes["slow"].ok
        assert calls == ["slow"]
    with _runtime(tmp_path / "runs.sqlite3", calls, release) as later:  # the next process finishes it
        done = later.run(resume=drained.run_id)
        assert done.status == "completed" and done.reused == ("slow",)
        assert calls == ["slow", "after", "last"]
        assert later.replay(drained.run_id).matched


def test_a_run_started_after_drain_starts_nothing_and_stays_resumable(tmp_path: Path) -> None:
    calls: list[str] = []
    release = threading.Event()
    release.set()
    with _runtime(tmp_path / "runs.sqlite3", calls, release) as runtime:
        runtime.drain()
        result = runtime.run(PLAN)
        assert result.status == "interrupted" and result.outcomes == {} and calls == []
    with _runtime(tmp_path / "runs.sqlite3", calls, release) as later:
        assert later.run(resume=result.run_id).status == "completed" and calls == ["slow", "after", "last"]


def test_a_direct_call_counts_against_the_budgets_it_is_given() -> None:
    key = ResourceContract(id="key:alice", max_calls=1)
    with Runtime(plugins=[FakePlugin(skills=[fake_skill("s")])], entry_points=False) as runtime:
        assert runtime.execute("s", budgets=[key]).ok
        refused = runtime.execute("s", budgets=[key])
        assert not refused.ok and refused.error is not None and refused.error.code == ErrorCode.BUDGET_EXCEEDED
        assert refused.error.details.get("contract") == "key:alice", refused.error.details
        assert runtime.execute("s").ok  # the runtime's own contract is not that budget


def test_an_async_direct_call_counts_against_its_budgets_too() -> None:
    key = ResourceContract(id="key:bob", max_calls=1)

    async def twice() -> list[bool]:
        async with Runtime(plugins=[FakePlugin(skills=[fake_skill("s")])], entry_points=False) as runtime:
            return [(await runtime.aexecute("s", budgets=[key])).ok for _ in range(2)]

    assert asyncio.run(twice()) == [True, False]


class _CallingPlanner:
    name = "calling"
    description = "Calls a skill, then plans one step."

    async def plan(self, request: Any, ctx: Any) -> Plan:
        outcome = await ctx.execute("s", {})
        return Plan.model_validate({"goal": "x", "steps": [{"id": "a", "skill": "s", "params": {"ok": outcome.ok}}]})


def test_a_planners_calls_count_against_the_budgets_planning_is_given() -> None:
    key = ResourceContract(id="key:carol", max_calls=1)
    plugin = FakePlugin(skills=[fake_skill("s")], planners=[_CallingPlanner()])
    with Runtime(plugins=[plugin], entry_points=False) as runtime:
        first = runtime.plan("x", "calling", budgets=[key])
        second = runtime.plan("x", "calling", budgets=[key])
    assert first.plan is not None and first.plan.steps[0].params == {"ok": True}
    assert second.plan is not None and second.plan.steps[0].params == {"ok": False}
