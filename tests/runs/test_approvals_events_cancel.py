"""Runs that wait for approvals durably, report events, and stop when asked to."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from aos_core import ErrorCode, Runtime, SideEffect
from aos_core.testing import FakePlugin, fake_skill


def _runtime(store: Path, calls: list[str], **kwargs: Any) -> Runtime:
    def record(name: str) -> Any:
        def fn(params: Any, ctx: Any) -> dict[str, Any]:
            calls.append(f"{name}:{ctx.step_id}")
            if name == "slow":
                ctx.cancelled.wait(5)
            return {"done": True}

        return fn

    skills = [
        fake_skill("wipe", record("wipe"), side_effects=SideEffect.DESTRUCTIVE, idempotent=False),
        fake_skill("note", record("note")),
        fake_skill("slow", record("slow"), blocking=True, timeout_ms=10_000),
    ]
    return Runtime(plugins=[FakePlugin(skills=skills)], entry_points=False, store=store, seed=3, **kwargs)


PLAN = {
    "goal": "wipe after approval",
    "steps": [
        {"id": "first", "skill": "note", "params": {}},
        {"id": "wipe", "skill": "wipe", "params": {}, "depends_on": ["first"]},
        {"id": "after", "skill": "note", "params": {}, "depends_on": ["wipe"]},
        {"id": "aside", "skill": "note", "params": {}},
    ],
}


def test_a_step_needing_approval_pauses_the_run_until_it_is_approved(tmp_path: Path) -> None:
    """approvals="wait": the run stops at the step, durably; approving and resuming finishes it."""
    calls: list[str] = []
    with _runtime(tmp_path / "runs.sqlite3", calls) as runtime:
        paused = runtime.run(PLAN, approvals="wait")
        assert paused.status == "waiting_approval" and paused.waiting_for_approval == ("wipe",)
        assert set(paused.outcomes) == {"first", "aside"} and "wipe:wipe" not in calls
        assert runtime.store.approvals(paused.run_id)[0]["request"]["skill"] == "wipe"
    with _runtime(tmp_path / "runs.sqlite3", calls) as later:  # a restart loses nothing
        assert later.runs()[0].status == "waiting_approval"
        assert later.decide_approval(paused.run_id, "wipe", approve=True, by="alice")
        done = later.run(resume=paused.run_id)
        assert done.status == "completed" and calls.count("wipe:wipe") == 1 and calls.count("note:first") == 1
        assert later.replay(paused.run_id).matched


def test_a_denied_approval_fails_the_step_and_skips_what_depends_on_it(tmp_path: Path) -> None:
    calls: list[str] = []
    with _runtime(tmp_path / "runs.sqlite3", calls) as runtime:
        paused = runtime.run(PLAN, approvals="wait")
        assert runtime.decide_approval(paused.run_id, "wipe", approve=False)
        assert not runtime.decide_approval(paused.run_id, "wipe", approve=True)  # decided once
        done = runtime.run(resume=paused.run_id)
        assert done.status == "failed" and done.failed_step == "wipe" and done.skipped == ("after",)
        assert done.outcomes["wipe"].error.code == ErrorCode.PERMISSION_DENIED
        assert "wipe:wipe" not in calls
        assert runtime.replay(paused.run_id).matched


def test_a_run_reports_numbered_events_to_observers_and_the_store(tmp_path: Path) -> None:
    heard: list[dict[str, Any]] = []
    with _runtime(tmp_path / "runs.sqlite3", []) as runtime:
        result = runtime.run(
            {"goal": "two", "steps": [{"id": "a", "skill": "note"}, {"id": "b", "skill": "note", "depends_on": ["a"]}]},
            on_event=heard.append,
            keep_events=True,
        )
        kept = runtime.events(result.run_id)
    kinds = [e["kind"] for e in kept]
    assert kinds[0] == "run_started" and kinds[-1] == "run_ended" and kept[-1]["status"] == "completed"
    assert kinds.count("step_started") == 2 and kinds.count("step_committed") == 2 and kinds.count("attempt") == 2
    assert [e["seq"] for e in kept] == list(range(1, len(kept) + 1))
    assert kept == heard


def test_a_cancel_asked_through_the_store_stops_the_run_and_leaves_it_resumable(tmp_path: Path) -> None:
    calls: list[str] = []
    plan = {"goal": "slow", "steps": [{"id": "s", "skill": "slow"}, {"id": "n", "skill": "note", "depends_on": ["s"]}]}
    with _runtime(tmp_path / "runs.sqlite3", calls) as runtime:
        started = threading.Event()
        results: list[Any] = []

        def run() -> None:
            results.append(runtime.run(plan, on_event=lambda e: e["kind"] == "step_started" and started.set()))

        thread = threading.Thread(target=run)
        thread.start()
        assert started.wait(10)
        run_id = runtime.runs()[0].run_id
        began = time.monotonic()
        assert runtime.cancel(run_id) == "running"  # its owner is alive: it stops at its next heartbeat
        thread.join(15)
        assert results and results[0].status == "cancelled" and time.monotonic() - began < 3
        assert runtime.runs()[0].status == "cancelled"
        resumed = runtime.run(resume=run_id)
        assert resumed.status == "completed" and calls.count("note:n") == 1
