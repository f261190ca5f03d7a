"""The run store in SQL, written once for SQLite and PostgreSQL.

`SQLRunStore` is every operation of the `RunStore` protocol and of the shared-budget
`BudgetStore`, over a small connection interface its subclasses provide: `_writing(doing)` and
`_reading(doing)`, context managers around one write or read transaction that turn the driver's
errors into `StoreError`; `lock_rows`, the clause that locks a row read before it is written
(PostgreSQL's `FOR UPDATE`; SQLite's immediate transactions already let one writer in at a time).
SQL is written once with `?` placeholders and portable clauses (`ON CONFLICT`, `RETURNING`).

Every lease, hold expiry and budget start is read off the database's clock (`now_sql`), never the
clock of the machine writing: workers on machines whose clocks disagree still agree on who holds
a run and when a dead process's hold comes back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aos_core.contracts.exceptions import RunBusy, RunNotFound
from aos_core.contracts.runs import RunStatus, RunSummary
from aos_core.runs.census import census_of, shown_status
from aos_core.runs.sql_budgets import SQLBudgets
from aos_core.runs.store import Hold, LeaseLost, StoredRun
from aos_core.runs.trace import TraceDocument, canonical_json

__all__ = ["SQLRunStore"]


def _now_text(micro: bool = False) -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds" if micro else "seconds")


class SQLRunStore(SQLBudgets):
    """Runs, their steps, holds, events and approvals, and shared budgets (`SQLBudgets`), in SQL tables."""

    location: str
    lock_rows = ""
    # the database's clock in seconds since the epoch (SQLite: the clock of the one machine the file is on)
    now_sql = "((julianday('now') - 2440587.5) * 86400.0)"

    def _clock(self, db: Any) -> float:
        return float(db.execute(f"SELECT {self.now_sql}").fetchone()[0])

    # -- writes --------------------------------------------------------------------------------
    def create_run(
        self,
        run_id: str,
        header: dict[str, Any],
        goal: str,
        owner: str | None,
        lease_s: float,
        traceparent: str | None = None,
    ) -> None:
        now = _now_text(micro=True)
        total = len(header.get("plan", {}).get("steps", []))
        with self._writing("record a new run") as db:
            status, until = ("running", self._clock(db) + lease_s) if owner is not None else ("queued", None)
            self._insert_run(db, (run_id, goal, now, total), header)
            db.execute("INSERT INTO run_state VALUES (?,?,?,?,?,NULL,0)", (run_id, status, now, owner, until))
            if traceparent is not None:
                db.execute("INSERT INTO run_trace_context VALUES (?,?)", (run_id, traceparent))

    def _insert_run(self, db: Any, row: tuple[Any, ...], header: dict[str, Any]) -> None:
        """The `runs` row: `row` (id, goal, created_at, total) and the header's canonical line."""
        db.execute("INSERT INTO runs VALUES (?,?,?,?,?)", (*row, canonical_json(header)))

    def acquire(self, run_id: str, owner: str, lease_s: float) -> StoredRun:
        full = self.resolve_id(run_id)
        with self._writing("take the run's lease") as db:
            row = db.execute(
                f"SELECT owner, lease_until, {self.now_sql} FROM run_state WHERE id=?{self.lock_rows}", (full,)
            ).fetchone()
            if row is None:
                raise RunNotFound(f"no run {run_id!r} in {self.location}; 'aos runs' lists them")
            holder, until, now = row
            if holder is not None and holder != owner and until is not None and until > now:
                raise RunBusy(
                    f"run {full} is held by another process ({holder}) for {until - now:.0f} s more; "
                    "wait for it to finish, or, if it died, until its lease expires"
                )
            db.execute(
                "UPDATE run_state SET owner=?, lease_until=?, status='running', cancel_requested=0, updated_at=?"
                " WHERE id=?",
                (owner, now + lease_s, _now_text(), full),
            )
            return self._load(db, full)

    def renew(self, run_id: str, owner: str, lease_s: float) -> bool:
        """Extend the lease; True when someone asked for the run to be cancelled."""
        with self._writing("renew the run's lease") as db:
            self._fence(db, run_id, owner)
            db.execute(f"UPDATE run_state SET lease_until={self.now_sql} + ? WHERE id=?", (lease_s, run_id))
            row = db.execute("SELECT cancel_requested FROM run_state WHERE id=?", (run_id,)).fetchone()
        return bool(row and row[0])

    def request_cancel(self, run_id: str) -> RunStatus:
        """Ask for a run to stop: its owner stops it at its next heartbeat; a run nobody owns
        (queued, waiting, interrupted) is cancelled at once. Returns the status it now shows."""
        full = self.resolve_id(run_id)
        with self._writing("cancel the run") as db:
            status, owner, until, now = db.execute(
                f"SELECT status, owner, lease_until, {self.now_sql} FROM run_state WHERE id=?{self.lock_rows}", (full,)
            ).fetchone()
            if status in ("completed", "failed", "cancelled"):
                return status
            if owner is not None and until is not None and until > now:
                db.execute("UPDATE run_state SET cancel_requested=1 WHERE id=?", (full,))
                return "running"
            db.execute(
                "UPDATE run_state SET status='cancelled', owner=NULL, lease_until=NULL, updated_at=? WHERE id=?",
                (_now_text(), full),
            )
            return "cancelled"

    def append_events(self, run_id: str, owner: str, events: list[dict[str, Any]]) -> None:
        if events:
            with self._writing("record run events") as db:
                self._fence(db, run_id, owner)
                db.executemany(
                    "INSERT INTO events VALUES (?,?,?) ON CONFLICT DO NOTHING",
                    [(run_id, e["seq"], canonical_json(e)) for e in events],
                )

    def read_events(self, run_id: str, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """The run's events with a sequence number above `after`, oldest first."""
        with self._reading("read run events") as db:
            rows = db.execute(
                "SELECT event FROM events WHERE run_id=? AND seq>? ORDER BY seq LIMIT ?", (run_id, after, limit)
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def last_event(self, run_id: str) -> int:
        with self._reading("read run events") as db:
            row = db.execute("SELECT MAX(seq) FROM events WHERE run_id=?", (run_id,)).fetchone()
        return int(row[0] or 0)

    def request_approval(self, run_id: str, owner: str, step_id: str, request: dict[str, Any]) -> None:
        with self._writing("record an approval request") as db:
            self._fence(db, run_id, owner)
            db.execute(
                "INSERT INTO approvals (run_id, step_id, request) VALUES (?,?,?) ON CONFLICT DO NOTHING",
                (run_id, step_id, canonical_json(request)),
            )

    def decide_approval(self, run_id: str, step_id: str, approve: bool, by: str) -> bool:
        """Record a decision on a pending approval; False when none is pending for that step."""
        full = self.resolve_id(run_id)
        with self._writing("record an approval decision") as db:
            changed = db.execute(
                "UPDATE approvals SET decision=?, decided_by=?, decided_at=? WHERE run_id=? AND step_id=?"
                " AND decision IS NULL",
                ("approve" if approve else "deny", by, _now_text(), full, step_id),
            ).rowcount
        return changed == 1

    def approvals(self, run_id: str) -> list[dict[str, Any]]:
        """Every approval the run asked for: step, request, decision (None while pending)."""
        with self._reading("read approvals") as db:
            rows = db.execute(
                "SELECT step_id, request, decision, decided_by, decided_at FROM approvals WHERE run_id=?", (run_id,)
            ).fetchall()
        return [
            {"step_id": s, "request": json.loads(r), "decision": d, "decided_by": b, "decided_at": a}
            for s, r, d, b, a in rows
        ]

    def hold(self, run_id: str, owner: str, *holds: Hold) -> None:
        rows = [
            (run_id, h.step_id, h.attempt, h.worst_json or canonical_json(h.worst), int(h.idempotent)) for h in holds
        ]
        with self._writing("note an attempt in flight") as db:
            self._fence(db, run_id, owner)
            db.executemany("INSERT INTO holds (run_id, step_id, attempt, worst, idempotent) VALUES (?,?,?,?,?)", rows)

    def commit_steps(self, run_id: str, owner: str, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        rows = [(run_id, r["id"], canonical_json(r)) for r in records]
        with self._writing("commit steps") as db:
            self._fence(db, run_id, owner)
            db.executemany(
                "INSERT INTO steps VALUES (?,?,?) ON CONFLICT (run_id, step_id) DO UPDATE SET record = excluded.record",
                rows,
            )
            db.executemany("DELETE FROM holds WHERE run_id=? AND step_id=?", [(run_id, r["id"]) for r in records])

    def finish_run(self, run_id: str, owner: str, status: RunStatus, end: dict[str, Any] | None) -> None:
        record = canonical_json(end) if end is not None else None
        with self._writing("record the run's end") as db:
            self._fence(db, run_id, owner)
            db.execute(
                "UPDATE run_state SET status=?, end_record=COALESCE(?, end_record), updated_at=?, owner=NULL,"
                " lease_until=NULL, cancel_requested=0 WHERE id=?",
                (status, record, _now_text(), run_id),
            )

    def _fence(self, db: Any, run_id: str, owner: str) -> None:
        row = db.execute(f"SELECT owner FROM run_state WHERE id=?{self.lock_rows}", (run_id,)).fetchone()
        if row is None or row[0] != owner:
            holder = row[0] if row is not None else None
            now = f"held by {holder}" if holder else "taken over by another process, which has finished with it"
            raise LeaseLost(f"run {run_id} is {now}; this process stopped writing it")

    # -- reads ---------------------------------------------------------------------------------
    def resolve_id(self, run_id: str) -> str:
        """The full id of `run_id`, which may be a unique prefix."""
        pattern = run_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        with self._reading("look the run up") as db:
            rows = db.execute(
                "SELECT id FROM runs WHERE id = ? OR id LIKE ? ESCAPE '\\' ORDER BY id LIMIT 3", (run_id, pattern)
            ).fetchall()
        ids = [r[0] for r in rows]
        if run_id in ids:
            return run_id
        if len(ids) == 1:
            return str(ids[0])
        if not ids:
            raise RunNotFound(f"no run {run_id!r} in {self.location}; 'aos runs' lists them")
        raise RunNotFound(f"run id {run_id!r} is ambiguous ({', '.join(ids)}, ...); give more characters")

    def load_run(self, run_id: str, steps: bool = True) -> StoredRun:
        full = self.resolve_id(run_id)
        with self._reading("read the run") as db:
            return self._load(db, full, steps)

    def step_records(self, run_id: str, step_ids: list[str]) -> dict[str, str]:
        query = f"SELECT step_id, record FROM steps WHERE run_id=? AND step_id IN ({','.join('?' * len(step_ids))})"
        with self._reading("read steps") as db:
            return dict(db.execute(query, (run_id, *step_ids)).fetchall()) if step_ids else {}

    def step_ids(self, run_id: str) -> list[str]:
        with self._reading("read steps") as db:
            return [row[0] for row in db.execute("SELECT step_id FROM steps WHERE run_id=?", (run_id,)).fetchall()]

    def step_count(self, run_id: str) -> int:
        with self._reading("count steps") as db:
            return int(db.execute("SELECT COUNT(*) FROM steps WHERE run_id=?", (run_id,)).fetchone()[0])

    def _load(self, db: Any, full: str, with_steps: bool = True) -> StoredRun:
        row = db.execute(
            f"SELECT r.header, {shown_status(self.now_sql)}, s.owner, s.lease_until, s.end_record, {self.now_sql}"
            " FROM runs r JOIN run_state s ON s.id = r.id WHERE r.id=?",
            (full,),
        ).fetchone()
        if row is None:
            raise RunNotFound(f"no run {full!r} in {self.location}; 'aos runs' lists them")
        header, status, owner, lease_until, end_record, now = row
        if isinstance(header, bytes):  # a large header SQLite wrote in pieces (sqlite.py)
            header = header.decode("utf-8")
        steps = []  # a trace without its step records: the reader takes them with `step_records`
        if with_steps:
            steps = db.execute("SELECT step_id, record FROM steps WHERE run_id=?", (full,)).fetchall()
        holds = db.execute(
            "SELECT step_id, attempt, worst, idempotent FROM holds WHERE run_id=? ORDER BY id", (full,)
        ).fetchall()
        context = db.execute("SELECT traceparent FROM run_trace_context WHERE run_id=?", (full,)).fetchone()
        doc = TraceDocument(header)  # stored canonical: parsed when asked for
        for step_id, record in steps:
            doc.steps.add_line(step_id, record)  # stored canonical: parsed when asked for
        doc.end = json.loads(end_record) if end_record else None
        return StoredRun(
            full,
            status,
            doc,
            [Hold(s, a, json.loads(w), bool(i)) for s, a, w, i in holds],
            owner,
            lease_until,
            None if context is None else context[0],
            float(now),
        )

    def census(self) -> dict[str, Any]:
        with self._reading("count runs") as db:
            return census_of(db, self.now_sql)

    def list_runs(self, limit: int = 50, offset: int = 0, status: str | None = None) -> list[RunSummary]:
        """Runs newest first, a page at a time; `status` filters by the status a run shows (in SQL,
        so a filtered page reads that page's rows only)."""
        shown = shown_status(self.now_sql)
        where, args = ("", (limit, offset)) if status is None else (f" WHERE {shown} = ?", (status, limit, offset))
        query = (
            f"SELECT r.id, {shown}, r.goal, r.created_at, s.updated_at, r.steps_total, s.end_record,"
            " (SELECT COUNT(*) FROM steps c WHERE c.run_id = r.id)"
            f" FROM runs r JOIN run_state s ON s.id = r.id{where}"
            " ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?"
        )
        with self._reading("list runs") as db:
            rows = db.execute(query, args).fetchall()
        summaries = []
        for run_id, shown_as, goal, created, updated, total, end_record, committed in rows:
            end = json.loads(end_record) if end_record else {}
            summaries.append(
                RunSummary(
                    run_id=run_id,
                    status=shown_as,
                    goal=goal,
                    created_at=created,
                    updated_at=updated,
                    steps=total,
                    committed=committed,
                    failed_step=end.get("failed_step"),
                )
            )
        return summaries
