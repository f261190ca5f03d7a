"""The queue of runs waiting for a worker: submitted runs, runs whose approval was decided, runs
asked to resume.

An entry is claimed by one worker (`take`, one immediate transaction) and removed when that
worker is done with the run, whatever its status. The run's lease in the run store stays the
authority on who executes it: a claim only says who is about to. A worker that dies leaves its
claims behind; the supervisor hands them back (`release`) and marks what the worker was running.
With a `postgresql://` store DBOS's queue replaces this table (`dbos_queue.py`); the `RunQueue`
protocol is what the server asks of either, and `open_queue` picks one.
"""

from __future__ import annotations

import json
import time
from typing import Any, Protocol

from aos_server.db import Database, ServerDatabase, is_postgres

__all__ = ["RunQueue", "SQLiteQueue", "open_queue"]


class RunQueue(Protocol):
    """Where runs wait for a worker."""

    def put(self, run_id: str, options: dict[str, Any] | None = None) -> None:
        """Queue a run. An entry not yet claimed takes the new options; one a worker holds is
        queued again, with them, when that worker is done (an approval decided meanwhile)."""
        ...

    def take(self, worker: str) -> tuple[str, dict[str, Any]] | None:
        """Claim the oldest unclaimed run for `worker`: (run id, options), or None."""
        ...

    def done(self, run_id: str, worker: str) -> None:
        """`worker` is finished with the run: its entry goes (or waits again, see `put`)."""
        ...

    def discard(self, run_id: str) -> None:
        """Drop a run's entry if no worker claimed it (a cancelled run)."""
        ...

    def claimed_by(self, worker: str) -> list[str]: ...

    def release(self, run_id: str) -> None:
        """Hand a claimed entry back to the queue (its worker died before starting the run)."""
        ...

    def release_all(self) -> int:
        """Hand back every claim (at start: no worker of ours is alive yet)."""
        ...

    def waiting(self) -> int:
        """How many runs wait, not yet taken by a worker."""
        ...


def open_queue(db: ServerDatabase, store: str, queue: str | None = None) -> RunQueue:
    """The queue of a store: DBOS's for a `postgresql://` store, else the SQLite table."""
    if is_postgres(store):
        from aos_server.dbos_queue import DEFAULT_QUEUE, DBOSQueue

        return DBOSQueue(store, queue or DEFAULT_QUEUE, db)
    assert isinstance(db, Database)
    return SQLiteQueue(db)


class SQLiteQueue:
    """`RunQueue` on the server's tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, run_id: str, options: dict[str, Any] | None = None) -> None:
        text = json.dumps(options or {}, sort_keys=True)
        with self.db.writing("queue a run") as db:
            db.execute(
                "INSERT INTO server_queue (run_id, options, enqueued_at) VALUES (?,?,?) ON CONFLICT (run_id) DO UPDATE"
                " SET options = CASE WHEN claimed_by IS NULL THEN excluded.options ELSE options END,"
                " again = CASE WHEN claimed_by IS NULL THEN NULL ELSE excluded.options END",
                (run_id, text, time.time()),
            )

    def take(self, worker: str) -> tuple[str, dict[str, Any]] | None:
        with self.db.writing("take a queued run") as db:
            row = db.execute(
                "SELECT seq, run_id, options FROM server_queue WHERE claimed_by IS NULL ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute("UPDATE server_queue SET claimed_by=?, claimed_at=? WHERE seq=?", (worker, time.time(), row[0]))
        return str(row[1]), json.loads(row[2])

    def done(self, run_id: str, worker: str) -> None:
        with self.db.writing("finish a queued run") as db:
            db.execute(
                "UPDATE server_queue SET claimed_by=NULL, claimed_at=NULL, options=again, again=NULL"
                " WHERE run_id=? AND claimed_by=? AND again IS NOT NULL",
                (run_id, worker),
            )
            db.execute("DELETE FROM server_queue WHERE run_id=? AND claimed_by=?", (run_id, worker))

    def discard(self, run_id: str) -> None:
        with self.db.writing("drop a queued run") as db:
            db.execute("DELETE FROM server_queue WHERE run_id=? AND claimed_by IS NULL", (run_id,))

    def claimed_by(self, worker: str) -> list[str]:
        with self.db.reading("read the queue") as db:
            rows = db.execute("SELECT run_id FROM server_queue WHERE claimed_by=? ORDER BY seq", (worker,)).fetchall()
        return [str(r[0]) for r in rows]

    def release(self, run_id: str) -> None:
        with self.db.writing("hand a run back to the queue") as db:
            db.execute("UPDATE server_queue SET claimed_by=NULL, claimed_at=NULL WHERE run_id=?", (run_id,))

    def release_all(self) -> int:
        with self.db.writing("hand every run back to the queue") as db:
            return db.execute(
                "UPDATE server_queue SET claimed_by=NULL, claimed_at=NULL WHERE claimed_by IS NOT NULL"
            ).rowcount

    def waiting(self) -> int:
        """How many entries no worker has claimed."""
        with self.db.reading("read the queue") as db:
            row = db.execute("SELECT COUNT(*) FROM server_queue WHERE claimed_by IS NULL").fetchone()
        return int(row[0])
