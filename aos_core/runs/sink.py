"""A live run's end in the run store: `StoreSink` writes its holds, commits, approval requests,
events and end; `StoreApprover` reads approvals decided through the store."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from pydantic_core import from_json

from aos_core.contracts.cost import Cost
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.runs import Loader, RunStatus
from aos_core.execution.world import ApprovalPending
from aos_core.policy import ApprovalRequest
from aos_core.runs.store import Hold, RunStore
from aos_core.runs.trace import canonical_json, recorded_outcome

__all__ = ["StoreApprover", "StoreSink"]


class StoreSink:
    """A live run's end of the engine: holds, commits, approval requests, events (when kept) and
    the end go to the run store. Events are buffered and written by `flush`, which the lease's
    heartbeat calls a few times a second and the end of the run calls once more."""

    def __init__(self, store: RunStore, run_id: str, owner: str, keep_events: bool) -> None:
        self.store = store
        self.run_id = run_id
        self.owner = owner
        self.keep_events = keep_events
        self._events: list[dict[str, Any]] = []
        self._lock = threading.Lock()  # the run's loop appends, the heartbeat thread writes
        self._holds: list[Hold] = []  # asked for in this turn of the loop, not yet written
        self._waiters: list[asyncio.Future[None]] = []  # one per hold in `_holds`
        # the last worst case held, as JSON data and as its canonical line: a skill priced by its
        # metadata holds the same (frozen) `Cost` at every attempt, so it is written out once,
        # not dumped and encoded per step (3.4 of a 10k-step SQLite run's ~75 µs a step)
        self._last_worst: tuple[Cost, dict[str, Any], str] | None = None
        # committed outcomes are read back when asked for, not held (a store that cannot read
        # steps back, like the benchmark's null store, leaves them to be held)
        self.load: Loader | None = self._outcomes if hasattr(store, "step_records") else None

    def _outcomes(self, step_ids: list[str]) -> dict[str, StructuredOutcome]:
        lines = self.store.step_records(self.run_id, step_ids)
        return {step_id: recorded_outcome(from_json(line), self.run_id) for step_id, line in lines.items()}

    def starting(self, step: Any, params: Any) -> None:
        """Nothing to check for a live run."""

    def event(self, event: dict[str, Any]) -> None:
        if self.keep_events:
            with self._lock:
                self._events.append(event)

    def flush(self) -> None:
        with self._lock:
            events, self._events = self._events, []
        if events:
            self.store.append_events(self.run_id, self.owner, events)

    def wait_for_approval(self, step_id: str, request: dict[str, Any]) -> None:
        self.store.request_approval(self.run_id, self.owner, step_id, request)

    def hold(
        self, step_id: str, attempt: int, worst: Cost, idempotent: bool, repeatable: bool
    ) -> asyncio.Future[None] | None:
        """The future to await until the hold is written (None: nothing to write). Holds asked for
        in one turn of the event loop (the steps a run starts together) are written in one
        transaction: a 10k-step run wrote 10k transactions here, 41 of its 114 µs per step (bench
        case 4). Each waiter gets a future of its own, set when the write ends, so cancelling one
        waiter cancels nothing else; `asyncio.shield` of one shared future did the same with ~8
        more objects a step in flight (two copied contexts, two closures and their cells, an outer
        future), and each object alive at a collection is one more for the garbage collector's
        full collections to traverse (bench case 4 at 100k steps)."""
        if repeatable and not (worst.money or worst.calls or worst.input_tokens or worst.output_tokens):
            return None  # a free call that changes nothing: after a crash it simply runs again
        loop = asyncio.get_running_loop()
        if not self._holds:
            loop.call_soon(self._write_holds)
        last = self._last_worst
        if last is None or last[0] is not worst:
            data = worst.model_dump(mode="json")
            last = self._last_worst = (worst, data, canonical_json(data))
        self._holds.append(Hold(step_id, attempt, last[1], idempotent, last[2]))
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        return waiter

    def _write_holds(self) -> None:
        holds, waiters = self._holds, self._waiters
        self._holds, self._waiters = [], []
        try:
            self.store.hold(self.run_id, self.owner, *holds)
        except BaseException as exc:  # noqa: BLE001 - every attempt waiting for this write hears it
            for waiter in waiters:
                if not waiter.done():  # a waiter cancelled meanwhile hears nothing
                    waiter.set_exception(exc)
        else:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def commit(self, records: list[dict[str, Any]]) -> None:
        self.store.commit_steps(self.run_id, self.owner, records)

    def finish(self, status: RunStatus, end: dict[str, Any] | None) -> None:
        self.flush()
        self.store.finish_run(self.run_id, self.owner, status, end)


class StoreApprover:
    """Approvals decided through the store (`Runtime.decide_approval`, the server's API): a step
    without a decision pauses the run (`ApprovalPending`) instead of being refused."""

    def __init__(self, store: RunStore, run_id: str) -> None:
        self.store = store
        self.run_id = run_id

    def __call__(self, request: ApprovalRequest) -> bool:
        for approval in self.store.approvals(self.run_id):
            if approval["step_id"] == request.step_id and approval["decision"] is not None:
                return bool(approval["decision"] == "approve")
        raise ApprovalPending(request)
