"""The SQLite run store (defect 13 and the run's owner of defect 6): id prefixes, consistent
reads, a versioned schema upgraded from the first release's files, and one owner per run
(test_crash_resume.py fences a stopped owner's writes with real processes)."""

from __future__ import annotations

import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from aos_core import RunBusy, RunNotFound, Runtime, StoreError, TraceError
from aos_core.runs.store import Hold
from aos_core.testing import FakePlugin, fake_skill

V0_DUMP = Path(__file__).with_name("data") / "store-v0.sql"
V0_RUNS = {
    "20261204T140911-d5b340": "completed",
    "20261204T140911-a1bb77": "failed",
    "20261204T140911-74b459": "interrupted",  # recorded as running by a process that is gone
}


def header(steps: int = 0) -> dict[str, Any]:
    plan = {"goal": "g", "steps": [{"id": f"s{i}", "skill": "echo", "params": {}} for i in range(steps)]}
    return {"kind": "run", "format": 2, "plan": plan, "seed": 1, "contract": {}, "policy": {}}


def test_a_run_id_prefix_with_an_underscore_matches_it_literally(store_path: Path) -> None:
    """`_` in a prefix is the character, not SQL's any-one-character wildcard (nor is `%` a wildcard)."""
    with Runtime(entry_points=False, store=store_path) as runtime:
        for run_id in ("run_1", "runX2", "ru%n-3"):
            runtime.store.create_run(run_id, header(), "g", "me", 60)
        assert runtime.store.resolve_id("run_") == "run_1"
        assert runtime.store.resolve_id("ru%") == "ru%n-3"
        with pytest.raises(RunNotFound):
            runtime.store.resolve_id("r%1")


def test_a_store_made_now_says_its_schema_version(store_path: Path) -> None:
    """A new store carries `PRAGMA user_version` 3, so a later release knows what to migrate."""
    with Runtime(entry_points=False, store=store_path) as runtime:
        runtime.store.create_run("r1", header(), "g", "me", 60)
    with sqlite3.connect(store_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3


def v0_store(path: Path) -> Path:
    """A database as the first release wrote it (its dump, loaded as it was)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(V0_DUMP.read_text("utf-8"))
    return path


def test_a_store_of_the_first_release_is_upgraded_when_opened(store_path: Path) -> None:
    """Every run of a v0 store is still listed and shown after the upgrade, with its steps and end."""
    v0_store(store_path)
    with Runtime(entry_points=False, store=store_path) as runtime:
        assert {r.run_id: r.status for r in runtime.runs()} == V0_RUNS
        done = runtime.trace("20261204T140911-d5b340")
        assert list(done.steps) == ["a", "b"] and done.end is not None and done.end["status"] == "completed"
        assert runtime.store.load_run("20261204T140911-74b459").in_flight == ["c"]  # its `started` mark
    with sqlite3.connect(store_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"runs", "run_state", "steps", "holds", "events", "approvals", "budgets", "budget_holds", "run_trace_context"} <= tables
    assert "started" not in tables


def test_an_upgraded_run_of_the_first_release_is_refused_for_replay_and_resume_with_a_reason(
    store_path: Path,
) -> None:
    """Traces of format 1 can be listed and shown, not replayed or resumed: TraceError says why."""
    v0_store(store_path)
    with Runtime(entry_points=False, store=store_path, plugins=[FakePlugin(skills=[fake_skill("echo")])]) as rt:
        with pytest.raises(TraceError, match="older AOS"):
            rt.replay("20261204T140911-d5b340")
        with pytest.raises(TraceError, match="older AOS"):
            rt.run(resume="20261204T140911-74b459")


def test_a_store_from_a_newer_release_is_refused(store_path: Path) -> None:
    """A schema version above the one this release knows is a StoreError, never a silent misread."""
    store_path.parent.mkdir(parents=True)
    with sqlite3.connect(store_path) as db:
        db.execute("CREATE TABLE runs (id TEXT)")
        db.execute("PRAGMA user_version=7")
    with pytest.raises(StoreError, match="newer"):
        Runtime(entry_points=False, store=store_path).store  # noqa: B018 - opening it is the test


def step_record(step_id: str) -> dict[str, Any]:
    return {"kind": "step", "id": step_id, "skill": "echo", "params": {}, "outcome": {"ok": True}, "attempts": []}


def test_a_run_is_read_as_one_snapshot_while_another_process_commits(store_path: Path) -> None:
    """Steps move from held (in flight) to committed in one transaction of the writer; load_run,
    interrupted by a commit after each row it fetches, still sees every step exactly once."""
    steps = [f"s{i}" for i in range(10)]
    writer_rt, reader_rt = Runtime(entry_points=False, store=store_path), Runtime(entry_points=False, store=store_path)
    writer, reader = writer_rt.store, reader_rt.store
    writer.create_run("r1", header(len(steps)), "g", "writer", 60)
    for step in steps:
        writer.hold("r1", "writer", Hold(step, 1, {"calls": 1}, False))
    pending = list(steps)

    def commit_one_between_reads(frame: Any, event: str, arg: Any) -> None:
        fetched = event == "c_return" and getattr(arg, "__name__", "") in ("fetchone", "fetchall")
        if fetched and isinstance(getattr(arg, "__self__", None), sqlite3.Cursor) and pending:
            writer.commit_steps("r1", "writer", [step_record(pending.pop(0))])

    sys.setprofile(commit_one_between_reads)
    try:
        stored = reader.load_run("r1")
    finally:
        sys.setprofile(None)
    try:
        assert len(pending) <= len(steps) - 2, "the writer did not get between the reader's reads"
        committed, held = set(stored.trace.steps), {hold.step_id for hold in stored.holds}
        assert committed | held == set(steps) and not committed & held, (sorted(committed), sorted(held))
    finally:
        writer_rt.close()
        reader_rt.close()


def test_a_run_its_owner_is_still_running_cannot_be_resumed(store_path: Path) -> None:
    """While the owner renews its lease, a resume elsewhere is refused with RunBusy and runs nothing."""
    import asyncio

    started, release = threading.Event(), threading.Event()
    calls: list[str] = []

    async def wait(params: Any, ctx: Any) -> dict[str, Any]:
        calls.append(ctx.step_id)
        started.set()
        while not release.is_set():
            await asyncio.sleep(0.01)
        return {}

    plugin = FakePlugin(skills=[fake_skill("wait", wait, timeout_ms=60_000)])
    plan = {"steps": [{"id": "w", "skill": "wait", "params": {}}]}
    with Runtime(plugins=[plugin], entry_points=False, store=store_path, lease_s=0.3) as owner:
        running = threading.Thread(target=owner.run, args=(plan,))
        running.start()
        assert started.wait(10)
        time.sleep(0.5)  # longer than the lease: only the heartbeat keeps it
        run_id = owner.runs(1)[0].run_id
        with (
            Runtime(plugins=[plugin], entry_points=False, store=store_path) as other,
            pytest.raises(RunBusy, match="held by another process"),
        ):
            other.run(resume=run_id)
        release.set()
        running.join(10)
    assert calls == ["w"]


def test_the_holds_of_steps_started_together_are_written_in_one_transaction(tmp_path: Path) -> None:
    """Twenty priced steps with no dependencies start together: their holds reach the store in
    one write, each noted before its call, and every hold is gone once the run has committed."""
    from aos_core.runs.sqlite import SQLiteRunStore

    class CountingStore(SQLiteRunStore):
        def __init__(self, path: Path) -> None:
            super().__init__(path)
            self.writes: list[list[str]] = []

        def hold(self, run_id: str, owner: str, *holds: Hold) -> None:
            self.writes.append([h.step_id for h in holds])
            super().hold(run_id, owner, *holds)

    store = CountingStore(tmp_path / "runs.sqlite3")
    called: list[str] = []

    def pay(params: Any, ctx: Any) -> dict[str, Any]:
        assert any(ctx.step_id in write for write in store.writes), "called before its hold was written"
        called.append(ctx.step_id)
        return {}

    skill = fake_skill("pay", pay, side_effects="write", cost={"money_per_call": "0.01"})
    plan = {"version": 1, "goal": "g", "steps": [{"id": f"s{i}", "skill": "pay", "params": {}} for i in range(20)]}
    with Runtime(entry_points=False, plugins=[FakePlugin(skills=[skill])], store=store) as runtime:
        result = runtime.run(plan)
        assert store.load_run(result.run_id).holds == []
    assert result.ok and len(called) == 20
    assert len(store.writes) == 1 and sorted(store.writes[0]) == sorted(called)
