"""The run store interface. SQLite implements it (`sqlite.py`); PostgreSQL can implement it too.

A run has one owner at a time: whoever holds its lease (taken by compare-and-set, renewed by a
heartbeat, released when the owner stops). Every write a run makes is fenced by the lease, so a
process that lost its lease (it stalled, another took over) can never overwrite what the new
owner committed. Before an attempt that has side effects or a price is sent, its worst case is
written down (a hold); a hold is deleted in the same transaction that commits its step, so after
a crash the holds left are exactly the attempts that were in flight.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aos_core.contracts.exceptions import RunNotFound, StoreError
from aos_core.contracts.runs import RunStatus, RunSummary
from aos_core.runs.trace import TraceDocument

__all__ = [
    "DEFAULT_LEASE_S",
    "Hold",
    "LeaseLost",
    "RunNotFound",
    "RunStore",
    "StoreError",
    "StoredRun",
    "default_store_path",
    "open_store",
    "owner_id",
]

DEFAULT_LEASE_S = 15.0


class LeaseLost(StoreError):
    """This owner no longer holds the run's lease: it must stop writing."""


@dataclass(frozen=True, slots=True)
class Hold:
    """An attempt's worst case, written down before the call was sent and not yet committed."""

    step_id: str
    attempt: int
    worst: dict[str, Any]  # a Cost as JSON
    idempotent: bool
    # `worst`'s canonical line when the writer knows it already (None: the store writes it)
    worst_json: str | None = field(default=None, compare=False)


@dataclass
class StoredRun:
    """A run as persisted: its trace so far, and the holds of attempts that never committed."""

    run_id: str
    status: RunStatus
    trace: TraceDocument
    holds: list[Hold] = field(default_factory=list)
    owner: str | None = None
    lease_until: float | None = None
    traceparent: str | None = None  # the W3C trace context the run was started with
    read_at: float | None = None  # the store's clock when this was read: what `lease_until` compares with

    @property
    def lease_left_s(self) -> float:
        """Seconds the owner's lease had left when this was read, by the store's clock (0: none)."""
        if self.owner is None or self.lease_until is None or self.read_at is None:
            return 0.0
        return max(0.0, self.lease_until - self.read_at)

    @property
    def in_flight(self) -> list[str]:
        """Steps that were sent (or about to be) but never committed, sorted."""
        return sorted({h.step_id for h in self.holds if h.step_id not in self.trace.steps})


class RunStore(Protocol):
    """Durable runs. A step is completed once `commit_steps` returned."""

    location: str

    def create_run(
        self,
        run_id: str,
        header: dict[str, Any],
        goal: str,
        owner: str | None,
        lease_s: float,
        traceparent: str | None = None,
    ) -> None:
        """Record a new run, owned by `owner` (running), or by nobody yet (queued); `traceparent`:
        the caller's W3C trace context, kept outside the canonical trace for whoever resumes it."""
        ...

    def acquire(self, run_id: str, owner: str, lease_s: float) -> StoredRun:
        """Take the run's lease (`RunBusy` while another live owner holds it) and load it."""
        ...

    def renew(self, run_id: str, owner: str, lease_s: float) -> bool:
        """Extend the lease (`LeaseLost` when another owner took it); True when a cancel was asked."""
        ...

    def request_cancel(self, run_id: str) -> RunStatus:
        """Ask for a run to stop; returns the status it now shows."""
        ...

    def append_events(self, run_id: str, owner: str, events: list[dict[str, Any]]) -> None:
        """Store events (each with its `seq`) the owner reported."""
        ...

    def read_events(self, run_id: str, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]: ...

    def last_event(self, run_id: str) -> int:
        """The highest event sequence number of the run (0: none)."""
        ...

    def request_approval(self, run_id: str, owner: str, step_id: str, request: dict[str, Any]) -> None:
        """Note that a step waits for an approval."""
        ...

    def decide_approval(self, run_id: str, step_id: str, approve: bool, by: str) -> bool:
        """Decide a pending approval; False when none is pending for that step."""
        ...

    def approvals(self, run_id: str) -> list[dict[str, Any]]: ...

    def hold(self, run_id: str, owner: str, *holds: Hold) -> None:
        """Durably note attempts' worst cases before their calls are sent, in one transaction."""
        ...

    def commit_steps(self, run_id: str, owner: str, records: list[dict[str, Any]]) -> None:
        """Durably store finished steps and drop their holds, in one transaction."""
        ...

    def finish_run(self, run_id: str, owner: str, status: RunStatus, end: dict[str, Any] | None) -> None:
        """Set the run's final (or paused) status, store its end record, release the lease."""
        ...

    def resolve_id(self, run_id: str) -> str: ...

    def load_run(self, run_id: str, steps: bool = True) -> StoredRun:
        """The run; `steps=False`: its trace without the step records (header and end only), for a
        reader that takes them a few at a time with `step_records` (a replay)."""
        ...

    def step_records(self, run_id: str, step_ids: list[str]) -> dict[str, str]:
        """The canonical lines of those of `step_ids` the run (its full id) committed, by step id."""
        ...

    def step_ids(self, run_id: str) -> list[str]:
        """The ids of the steps the run (its full id) committed, in no particular order."""
        ...

    def step_count(self, run_id: str) -> int:
        """How many steps the run (its full id) committed."""
        ...

    def list_runs(self, limit: int = 50, offset: int = 0, status: str | None = None) -> list[RunSummary]: ...

    def census(self) -> dict[str, Any]:
        """Counts for monitoring: `runs` by shown status, `oldest` (per unfinished status, when the
        oldest run got it, ISO time), `approvals_waiting` (steps of live runs without a decision)."""
        ...

    def close(self) -> None: ...


def open_store(where: str | Path | None = None, durability: str = "normal") -> RunStore:
    """The run store a path or URL names: a path or `sqlite:///PATH` (SQLite, the default), a
    directory (its `runs.sqlite3`), or `postgresql://...`. None: `AOS_STORE`, else the default
    `$AOS_HOME/runs.sqlite3`."""
    if where is None:
        where = os.environ.get("AOS_STORE") or default_store_path()
    text = str(where)
    if text.startswith(("postgresql://", "postgres://")):
        from aos_core.runs.postgres import PostgresRunStore

        return PostgresRunStore(text)
    if "://" in text and not text.startswith("sqlite://"):
        raise StoreError(
            f"unknown store URL {text.partition('://')[0]}://...; give a path, sqlite:///PATH or postgresql://..."
        )
    from aos_core.runs.sqlite import SQLiteRunStore

    path = Path(text.removeprefix("sqlite://")) if text.startswith("sqlite://") else Path(text)
    if path.is_dir():
        path = path / "runs.sqlite3"
    return SQLiteRunStore(path, durability=durability)  # type: ignore[arg-type]


def default_store_path() -> Path:
    """`$AOS_HOME/runs.sqlite3` (AOS_HOME defaults to the platform's app dir for "aos")."""
    home = os.environ.get("AOS_HOME")
    if not home:
        import click

        home = click.get_app_dir("aos")
    return Path(home) / "runs.sqlite3"


def owner_id() -> str:
    """A name for this process as a run's owner: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
