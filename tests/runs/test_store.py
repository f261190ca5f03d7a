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
    """A new store carries `PRAGMA user_version` 2, so a later release knows what to migrate."""
    with Runtime(entry_points=False, store=store_path) as runtime:
        runtime.store.create_run("r1", header(), "g", "me", 60)
    with sqlite3.connect(store_path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2


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
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
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
