"""The write-ahead holds of a live run (`StoreSink.hold`): the holds asked for in one turn of the
event loop go to the store in one write; every attempt waiting for that write hears how it ended,
and one waiter cancelled meanwhile takes nobody else with it."""

from __future__ import annotations

import asyncio
import gc
import warnings
from pathlib import Path
from typing import Any

import pytest

from aos_core.contracts.cost import Cost
from aos_core.runs.sink import StoreSink
from aos_core.runs.store import Hold


class WritingStore:
    """Only what `StoreSink.hold` uses of a run store: `hold`, which fails when told to."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error
        self.writes: list[list[str]] = []

    def hold(self, run_id: str, owner: str, *holds: Hold) -> None:
        self.writes.append([h.step_id for h in holds])
        if self.error is not None:
            raise self.error


def _sink(store: WritingStore) -> StoreSink:
    return StoreSink(store, "run-1", "me", keep_events=False)  # type: ignore[arg-type]


PRICED = Cost(calls=1)


async def _attempt(sink: StoreSink, step_id: str) -> str:
    written = sink.hold(step_id, 1, PRICED, idempotent=False, repeatable=False)
    assert written is not None
    await written
    return step_id


def test_holds_of_one_turn_are_one_write_and_a_cancelled_waiter_cancels_no_other() -> None:
    store = WritingStore()

    async def main() -> list[Any]:
        sink = _sink(store)
        tasks = [asyncio.ensure_future(_attempt(sink, f"s{i}")) for i in range(3)]
        await asyncio.sleep(0)  # each attempt has asked for its hold and waits for the write
        tasks[1].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    results = asyncio.run(main())
    assert store.writes == [["s0", "s1", "s2"]]
    assert results[0] == "s0" and results[2] == "s2"
    assert isinstance(results[1], asyncio.CancelledError)


def test_a_failed_write_reaches_every_waiter_and_none_is_left_unheard() -> None:
    store = WritingStore(OSError("disk full"))

    async def main() -> list[Any]:
        sink = _sink(store)
        tasks = [asyncio.ensure_future(_attempt(sink, f"s{i}")) for i in range(3)]
        await asyncio.sleep(0)
        tasks[0].cancel()
        return await asyncio.gather(*tasks, return_exceptions=True)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loop = asyncio.new_event_loop()
        unheard: list[dict[str, Any]] = []
        loop.set_exception_handler(lambda _loop, context: unheard.append(context))
        try:
            results = loop.run_until_complete(main())
            gc.collect()  # a future whose exception nobody retrieved reports it when collected
        finally:
            loop.close()
    assert isinstance(results[0], asyncio.CancelledError)
    assert [str(r) for r in results[1:]] == ["disk full", "disk full"]
    assert unheard == []


def test_a_free_call_that_changes_nothing_writes_no_hold() -> None:
    store = WritingStore()

    async def main() -> Any:
        return _sink(store).hold("s0", 1, Cost(), idempotent=True, repeatable=True)

    assert asyncio.run(main()) is None
    assert store.writes == []


@pytest.mark.parametrize("repeatable", [False, True])
def test_a_priced_or_unrepeatable_call_writes_its_hold(repeatable: bool) -> None:
    store = WritingStore()
    worst = PRICED if repeatable else Cost()

    async def main() -> None:
        sink = _sink(store)
        written = sink.hold("s0", 2, worst, idempotent=False, repeatable=repeatable)
        assert written is not None
        await written

    asyncio.run(main())
    assert store.writes == [["s0"]]


def test_each_hold_is_written_with_its_own_worst_case_when_worst_cases_alternate(tmp_path: Path) -> None:
    """A skill priced by its metadata holds the same `Cost` at every attempt, so the sink writes
    that worst case out once and reuses the line; one priced per call (an estimator) holds a new
    `Cost` each time: every hold read back from a real store is the worst case it was asked for."""
    from aos_core.runs.sqlite import SQLiteRunStore
    from aos_core.runs.trace import canonical_json

    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    header = {"kind": "run", "format": 2, "plan": {"goal": "g", "steps": []}, "seed": 1, "contract": {}, "policy": {}}
    store.create_run("r1", header, "g", "me", 60)
    fixed, other = Cost(calls=1, money="0.01"), Cost(calls=1, money="0.25", input_tokens=7)
    asked = [fixed, fixed, other, fixed, Cost(calls=1, money="0.01"), other]

    async def main() -> None:
        sink = StoreSink(store, "r1", "me", keep_events=False)
        for i, worst in enumerate(asked):
            written = sink.hold(f"s{i}", 1, worst, idempotent=False, repeatable=False)
            assert written is not None
            await written  # one write per hold: each turn of the loop writes what was asked in it

    try:
        asyncio.run(main())
        held = {h.step_id: h.worst for h in store.load_run("r1").holds}
        rows = dict(store._db.execute("SELECT step_id, worst FROM holds WHERE run_id='r1'").fetchall())
    finally:
        store.close()
    assert held == {f"s{i}": worst.model_dump(mode="json") for i, worst in enumerate(asked)}
    assert rows == {f"s{i}": canonical_json(worst.model_dump(mode="json")) for i, worst in enumerate(asked)}
