"""The run store's contract, the same tests against SQLite and PostgreSQL."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from postgres import fresh_schema_url, require_postgres

from aos_core import Cost, RateLimit, ResourceContract, RunBusy, RunNotFound
from aos_core.budget.shared import SharedLedger
from aos_core.runs.store import Hold, LeaseLost, RunStore, open_store
from aos_core.runs.trace import TRACE_FORMAT

HEADER = {
    "kind": "run",
    "format": TRACE_FORMAT,
    "plan": {"steps": [{"id": "a", "skill": "s"}, {"id": "b", "skill": "s"}]},
    "seed": 1,
    "contract": {},
    "policy": {},
}


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    if request.param == "sqlite":
        opened = open_store(tmp_path / "runs.sqlite3")
        yield opened
        opened.close()
        return
    require_postgres()
    opened = open_store(fresh_schema_url())
    try:
        yield opened
    finally:
        opened.drop()  # type: ignore[attr-defined]
        opened.close()


def record(step_id: str, ok: bool = True) -> dict[str, Any]:
    outcome = {"ok": ok, "output": {} if ok else None, "error": None if ok else {"code": "TIMEOUT"}}
    return {"kind": "step", "id": step_id, "skill": "s", "params": {}, "outcome": outcome, "attempts": [], "lost": []}


def test_a_new_run_is_listed_found_by_prefix_and_loaded(store: RunStore) -> None:
    store.create_run("20260101T000000-aa_bb", HEADER, "goal", "me", 30)
    store.create_run("20260101T000000-aaxbb", HEADER, "other", None, 30)
    assert store.resolve_id("20260101T000000-aa_") == "20260101T000000-aa_bb"  # '_' is not a wildcard
    with pytest.raises(RunNotFound, match="ambiguous"):
        store.resolve_id("20260101T000000-aa")
    runs = store.list_runs()
    assert [r.run_id for r in runs] == ["20260101T000000-aaxbb", "20260101T000000-aa_bb"]  # newest first
    assert [r.status for r in runs] == ["queued", "running"] and runs[0].steps == 2
    loaded = store.load_run("20260101T000000-aa_bb")
    assert loaded.trace.header == HEADER and loaded.owner == "me"


def test_the_lease_is_taken_by_compare_and_set(store: RunStore) -> None:
    store.create_run("r1", HEADER, "g", "first", 30)
    with pytest.raises(RunBusy):
        store.acquire("r1", "second", 30)
    store.create_run("r2", HEADER, "g", "first", 0.01)
    time.sleep(0.05)
    assert store.list_runs(status="interrupted")[0].run_id == "r2"  # its lease ran out
    assert store.acquire("r2", "second", 30).owner == "second"


def test_leases_and_budget_holds_go_by_the_stores_clock_not_the_writers(store: Any, monkeypatch: Any) -> None:
    """Workers on machines whose clocks disagree (here: this process's clock set an hour ahead or
    behind between calls) still agree on who holds a run and when a hold comes back."""
    real = time.time
    store.create_run("r", HEADER, "g", "first", 30)
    monkeypatch.setattr(time, "time", lambda: real() + 3600)  # a machine an hour ahead
    with pytest.raises(RunBusy):
        store.acquire("r", "second", 30)  # the first owner's lease has 30 s left, whatever this clock says
    loaded = store.load_run("r")
    assert loaded.status == "running" and loaded.owner == "first" and 25 < loaded.lease_left_s <= 30
    assert store.request_cancel("r") == "running"  # a live owner is asked to stop, not overridden
    contract = ResourceContract(id="team", max_calls=1)
    monkeypatch.setattr(time, "time", lambda: real() - 3600)  # a machine an hour behind takes a hold
    held = SharedLedger(contract, store, owner="behind").reserve(Cost(calls=1), 0.0)
    assert not hasattr(held, "limit")
    monkeypatch.setattr(time, "time", real)
    refused = SharedLedger(contract, store, owner="on time").reserve(Cost(calls=1), 0.0)
    assert refused.limit == "max_calls"  # type: ignore[union-attr]  # the hold is live for its 60 s


def test_runs_are_filtered_by_the_status_they_show_and_paged(store: RunStore) -> None:
    for i in range(12):  # created one after another: r00 oldest; every third one's owner died at once
        store.create_run(f"2026010{i // 10}T0000{i % 10}0-r{i:02d}", HEADER, "g", "me", 0.01 if i % 3 == 0 else 30)
    time.sleep(0.05)
    interrupted = [r.run_id[-3:] for r in store.list_runs(limit=100, status="interrupted")]
    assert interrupted == ["r09", "r06", "r03", "r00"]
    pages = [[r.run_id[-3:] for r in store.list_runs(limit=3, offset=o, status="running")] for o in (0, 3, 6, 9)]
    assert pages == [["r11", "r10", "r08"], ["r07", "r05", "r04"], ["r02", "r01"], []]
    assert store.census()["runs"] == {"running": 8, "interrupted": 4}


def test_a_writer_that_lost_its_lease_cannot_write(store: RunStore) -> None:
    store.create_run("r", HEADER, "g", "old", 0.01)
    time.sleep(0.05)
    store.acquire("r", "new", 30)
    for write in (
        lambda: store.commit_steps("r", "old", [record("a")]),
        lambda: store.hold("r", "old", Hold("a", 1, {}, False)),
        lambda: store.finish_run("r", "old", "completed", None),
        lambda: store.renew("r", "old", 30),
    ):
        with pytest.raises(LeaseLost):
            write()
    store.commit_steps("r", "new", [record("a")])
    assert set(store.load_run("r").trace.steps) == {"a"}


def test_holds_mark_steps_in_flight_until_their_commit(store: RunStore) -> None:
    store.create_run("r", HEADER, "g", "me", 30)
    store.hold("r", "me", Hold("a", 1, {"calls": 1}, True))
    store.hold("r", "me", Hold("b", 1, {"calls": 1}, False))
    assert store.load_run("r").in_flight == ["a", "b"]
    store.commit_steps("r", "me", [record("a")])
    loaded = store.load_run("r")
    assert loaded.in_flight == ["b"] and [h.step_id for h in loaded.holds] == ["b"]


def test_events_are_numbered_and_read_after_a_number(store: RunStore) -> None:
    store.create_run("r", HEADER, "g", "me", 30)
    store.append_events("r", "me", [{"seq": n, "kind": "k"} for n in (1, 2, 3)])
    store.append_events("r", "me", [{"seq": 3, "kind": "again"}])  # a repeat is ignored
    assert [e["seq"] for e in store.read_events("r", after=1)] == [2, 3]
    assert store.read_events("r", after=2)[0]["kind"] == "k" and store.last_event("r") == 3


def test_an_approval_is_decided_once(store: RunStore) -> None:
    store.create_run("r", HEADER, "g", "me", 30)
    store.request_approval("r", "me", "a", {"skill": "s"})
    assert store.approvals("r")[0]["decision"] is None
    assert store.decide_approval("r", "a", True, "alice")
    assert not store.decide_approval("r", "a", False, "bob")
    assert store.approvals("r")[0]["decision"] == "approve" and store.approvals("r")[0]["decided_by"] == "alice"
    assert not store.decide_approval("r", "b", True, "alice")  # nothing pending there


def test_cancel_flags_an_owned_run_and_ends_one_nobody_runs(store: RunStore) -> None:
    store.create_run("owned", HEADER, "g", "me", 30)
    store.create_run("queued", HEADER, "g", None, 30)
    assert store.request_cancel("owned") == "running" and store.renew("owned", "me", 30) is True
    assert store.request_cancel("queued") == "cancelled" and store.list_runs(status="cancelled")[0].run_id == "queued"


def test_finishing_releases_the_lease_and_keeps_the_end(store: RunStore) -> None:
    store.create_run("r", HEADER, "g", "me", 30)
    store.commit_steps("r", "me", [record("a"), record("b")])
    store.finish_run("r", "me", "completed", {"kind": "end", "status": "completed", "spent": {}})
    loaded = store.load_run("r")
    assert loaded.status == "completed" and loaded.owner is None and loaded.trace.end is not None
    assert store.acquire("r", "someone", 30).trace.end is not None  # anyone may take it now


def test_a_shared_budget_admits_exactly_its_limit_across_threads(store: Any) -> None:
    contract = ResourceContract(id="team", max_calls=50, max_money="0.50")
    ledgers = [SharedLedger(contract, store, owner=f"w{i}") for i in range(4)]
    admitted: list[int] = []

    def spend(ledger: SharedLedger) -> None:
        for _ in range(25):
            held = ledger.reserve(Cost(calls=1, money="0.01"), 0.0)
            if not hasattr(held, "limit"):
                ledger.settle(held, Cost(calls=1, money="0.01"))
                admitted.append(1)

    threads = [threading.Thread(target=spend, args=(ledger,)) for ledger in ledgers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    spent, held, _ = store.budget_state("team")
    assert len(admitted) == 50 and spent.calls == 50 and spent.money == Decimal("0.50") and held.calls == 0


def test_a_shared_budget_takes_back_expired_holds_and_settles_once(store: Any) -> None:
    contract = ResourceContract(id="team", max_calls=1)
    dead = store.budget_reserve(contract, Cost(calls=1), -1, "gone")
    ledger = SharedLedger(contract, store, owner="alive")
    held = ledger.reserve(Cost(calls=1), 0.0)
    assert not hasattr(held, "limit")
    refused = ledger.reserve(Cost(calls=1), 0.0)
    assert refused.limit == "max_calls"  # type: ignore[union-attr]
    ledger.settle(held, Cost(calls=1))
    ledger.settle(held, Cost(calls=1))  # twice: counted once
    store.budget_settle("team", dead, Cost(calls=1))
    spent, reserved, _ = store.budget_state("team")
    assert spent.calls == 2 and reserved.calls == 0


def test_a_database_made_by_the_first_release_is_upgraded_in_place(tmp_path: Path) -> None:
    """tests/runs/data/store-v0.sql is a dump of a store the first release wrote (schema version 0)."""
    import sqlite3

    from aos_core import Runtime, TraceError

    path = tmp_path / "runs.sqlite3"
    with sqlite3.connect(path) as db:
        db.executescript((Path(__file__).parent / "data" / "store-v0.sql").read_text())
    store = open_store(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3
    runs = {r.goal: r for r in store.list_runs()}
    assert runs["two echoes"].status == "completed" and runs["two echoes"].committed == 2
    assert runs["a failure"].status == "failed"
    assert runs["interrupted"].status == "interrupted"  # was "running" with a dead pid
    assert store.load_run(runs["interrupted"].run_id).in_flight == ["c"]  # its `started` mark, now a hold
    store.close()
    with Runtime(entry_points=False, store=path) as runtime, pytest.raises(TraceError, match="older AOS"):
        runtime.replay(runs["two echoes"].run_id)


def test_a_runs_trace_context_is_kept_outside_its_trace(store: RunStore) -> None:
    """The caller's traceparent comes back with the run, for whoever resumes it; the canonical
    trace does not hold it (it would differ between two runs of one plan)."""
    parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    store.create_run("r-traced", HEADER, "goal", None, 30, parent)
    store.create_run("r-plain", HEADER, "goal", None, 30)
    assert store.acquire("r-traced", "worker", 30).traceparent == parent
    assert store.load_run("r-plain").traceparent is None
    assert parent not in store.load_run("r-traced").trace.text()


def test_the_census_counts_runs_by_shown_status_and_approvals_waiting(store: RunStore) -> None:
    store.create_run("r-queued", HEADER, "g", None, 30)
    store.create_run("r-running", HEADER, "g", "me", 30)
    store.create_run("r-dead", HEADER, "g", "gone", 0.01)  # its lease expires: shown interrupted
    store.create_run("r-wait", HEADER, "g", "me", 30)
    store.request_approval("r-wait", "me", "a", {"skill": "s"})
    store.finish_run("r-wait", "me", "waiting_approval", None)
    time.sleep(0.05)
    census = store.census()
    assert census["runs"] == {"queued": 1, "running": 1, "interrupted": 1, "waiting_approval": 1}
    assert census["approvals_waiting"] == 1
    assert set(census["oldest"]) == {"queued", "running", "interrupted", "waiting_approval"}
    store.decide_approval("r-wait", "a", True, "me")
    assert store.census()["approvals_waiting"] == 0


def test_a_store_of_schema_version_1_is_migrated(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Opening a version-1 store (before trace contexts were kept) migrates it; its runs stay."""
    import sqlite3

    path = tmp_path / "v1.sqlite3"
    made = open_store(path)
    made.create_run("old", HEADER, "g", None, 30)
    made.close()
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE run_trace_context")
        db.execute("DROP TABLE rate_buckets")
        db.execute("PRAGMA user_version=1")
    upgraded = open_store(path)
    try:
        assert upgraded.load_run("old").traceparent is None
        upgraded.create_run("new", HEADER, "g", None, 30, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        assert upgraded.load_run("new").traceparent is not None
        assert upgraded.rate_take("team", "s", RateLimit(per_second=1)) == 0.0  # version 3's table
    finally:
        upgraded.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3


def test_a_postgres_store_of_schema_version_1_is_migrated() -> None:
    require_postgres()
    import psycopg

    url = fresh_schema_url()
    made = open_store(url)
    made.create_run("old", HEADER, "g", None, 30)
    schema = made.schema  # type: ignore[attr-defined]
    made.close()
    with psycopg.connect(url.split("?")[0]) as conn:
        conn.execute(f"DROP TABLE {schema}.run_trace_context")
        conn.execute(f"DROP TABLE {schema}.rate_buckets")
        conn.execute(f"UPDATE {schema}.aos_schema SET version = 1")
    upgraded = open_store(url)
    try:
        assert upgraded.load_run("old").traceparent is None
        upgraded.create_run("new", HEADER, "g", None, 30, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
        assert upgraded.load_run("new").traceparent is not None
        assert upgraded.rate_take("team", "s", RateLimit(per_second=1)) == 0.0  # version 3's table
    finally:
        upgraded.drop()  # type: ignore[attr-defined]
        upgraded.close()


def test_a_shared_rate_limit_refills_by_the_stores_clock(store: Any, monkeypatch: Any) -> None:
    limit = RateLimit(per_second=0.5, burst=2)
    monkeypatch.setattr(time, "time", lambda: 0.0)  # the writer's clock is not what refills the bucket
    assert [store.rate_take("team", "s", limit) for _ in range(2)] == [0.0, 0.0]
    wait = store.rate_take("team", "s", limit)
    assert 1.9 < wait <= 2.0  # one token at 0.5 per second
    assert store.rate_take("other", "s", limit) == 0.0  # another contract's bucket
