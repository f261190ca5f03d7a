"""The run store in SQL, written once for SQLite and PostgreSQL.

`SQLRunStore` is every operation of the `RunStore` protocol and of the shared-budget
`BudgetStore`, over a small connection interface its subclasses provide: `_writing(doing)` and
`_reading(doing)`, context managers around one write or read transaction that turn the driver's
errors into `StoreError`; `lock_rows`, the clause that locks a row read before it is written
(PostgreSQL's `FOR UPDATE`; SQLite's immediate transactions already let one writer in at a time).
SQL is written once with `?` placeholders and portable clauses (`ON CONFLICT`, `RETURNING`).

A run's lease is compared with the wall clock of the machine writing (`time.time()`): machines
sharing a store need clocks in step to within a fraction of the lease (NTP does that).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aos_core.contracts.cost import Cost
from aos_core.contracts.exceptions import RunBusy, RunNotFound
from aos_core.contracts.money import MONEY_CONTEXT
from aos_core.contracts.resources import ResourceContract
from aos_core.contracts.runs import RunStatus, RunSummary
from aos_core.runs.census import census_of, shown_status
from aos_core.runs.store import Hold, LeaseLost, StoredRun
from aos_core.runs.trace import TraceDocument, canonical_json

__all__ = ["SQLRunStore", "over_limit"]


def _now_text(micro: bool = False) -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds" if micro else "seconds")


_FIELDS = (("input_tokens", "max_input_tokens"), ("output_tokens", "max_output_tokens"), ("calls", "max_calls"))


def _cost(text: str) -> Cost:
    return Cost.model_validate(json.loads(text))


def _json(cost: Cost) -> str:
    return canonical_json(cost.model_dump(mode="json"))


def _minus(a: Cost, b: Cost) -> Cost:
    """`a - b` field by field, never below zero (money stays exact)."""
    return Cost(
        input_tokens=max(0, a.input_tokens - b.input_tokens),
        output_tokens=max(0, a.output_tokens - b.output_tokens),
        calls=max(0, a.calls - b.calls),
        money=max(MONEY_CONTEXT.subtract(a.money, b.money), Decimal(0)),
        currency=a.currency,
    )


def over_limit(contract: ResourceContract, spent: Cost, held: Cost, worst: Cost) -> tuple[str, Any, Any] | None:
    """The first limit `worst` breaks given what is spent and held: (limit, requested, remaining)."""
    for field, name in (*_FIELDS, ("money", "max_money")):
        limit = getattr(contract, name)
        if limit is None:
            continue
        free = limit - getattr(spent, field) - getattr(held, field)
        if getattr(worst, field) > free:
            return name, getattr(worst, field), max(free, 0)
    return None


class SQLRunStore:
    """Runs, their steps, holds, events and approvals, and shared budgets, in SQL tables."""

    location: str
    lock_rows = ""

    def _writing(self, doing: str) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _reading(self, doing: str) -> AbstractContextManager[Any]:
        raise NotImplementedError

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
        status, until = ("running", time.time() + lease_s) if owner is not None else ("queued", None)
        with self._writing("record a new run") as db:
            db.execute("INSERT INTO runs VALUES (?,?,?,?,?)", (run_id, goal, now, total, canonical_json(header)))
            db.execute("INSERT INTO run_state VALUES (?,?,?,?,?,NULL,0)", (run_id, status, now, owner, until))
            if traceparent is not None:
                db.execute("INSERT INTO run_trace_context VALUES (?,?)", (run_id, traceparent))

    def acquire(self, run_id: str, owner: str, lease_s: float) -> StoredRun:
        full = self.resolve_id(run_id)
        with self._writing("take the run's lease") as db:
            row = db.execute(f"SELECT owner, lease_until FROM run_state WHERE id=?{self.lock_rows}", (full,)).fetchone()
            if row is None:
                raise RunNotFound(f"no run {run_id!r} in {self.location}; 'aos runs' lists them")
            holder, until = row
            now = time.time()
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
            db.execute("UPDATE run_state SET lease_until=? WHERE id=?", (time.time() + lease_s, run_id))
            row = db.execute("SELECT cancel_requested FROM run_state WHERE id=?", (run_id,)).fetchone()
        return bool(row and row[0])

    def request_cancel(self, run_id: str) -> RunStatus:
        """Ask for a run to stop: its owner stops it at its next heartbeat; a run nobody owns
        (queued, waiting, interrupted) is cancelled at once. Returns the status it now shows."""
        full = self.resolve_id(run_id)
        with self._writing("cancel the run") as db:
            status, owner, until = db.execute(
                f"SELECT status, owner, lease_until FROM run_state WHERE id=?{self.lock_rows}", (full,)
            ).fetchone()
            if status in ("completed", "failed", "cancelled"):
                return status
            if owner is not None and until is not None and until > time.time():
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
        rows = [(run_id, h.step_id, h.attempt, canonical_json(h.worst), int(h.idempotent)) for h in holds]
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

    def load_run(self, run_id: str) -> StoredRun:
        full = self.resolve_id(run_id)
        with self._reading("read the run") as db:
            return self._load(db, full)

    def step_records(self, run_id: str, step_ids: list[str]) -> dict[str, str]:
        query = f"SELECT step_id, record FROM steps WHERE run_id=? AND step_id IN ({','.join('?' * len(step_ids))})"
        with self._reading("read steps") as db:
            return dict(db.execute(query, (run_id, *step_ids)).fetchall()) if step_ids else {}

    def _load(self, db: Any, full: str) -> StoredRun:
        row = db.execute(
            "SELECT r.header, s.status, s.owner, s.lease_until, s.end_record"
            " FROM runs r JOIN run_state s ON s.id = r.id WHERE r.id=?",
            (full,),
        ).fetchone()
        if row is None:
            raise RunNotFound(f"no run {full!r} in {self.location}; 'aos runs' lists them")
        header, status, owner, lease_until, end_record = row
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
            shown_status(status, lease_until),
            doc,
            [Hold(s, a, json.loads(w), bool(i)) for s, a, w, i in holds],
            owner,
            lease_until,
            None if context is None else context[0],
        )

    def census(self) -> dict[str, Any]:
        with self._reading("count runs") as db:
            return census_of(db, time.time())

    def list_runs(self, limit: int = 50, offset: int = 0, status: str | None = None) -> list[RunSummary]:
        query = (
            "SELECT r.id, s.status, r.goal, r.created_at, s.updated_at, r.steps_total, s.end_record, s.lease_until,"
            " (SELECT COUNT(*) FROM steps c WHERE c.run_id = r.id)"
            " FROM runs r JOIN run_state s ON s.id = r.id ORDER BY r.created_at DESC, r.id DESC"
        )
        window: tuple[int, ...] = ()
        if status is None:  # the shown status depends on the lease, so a status filter runs here
            query, window = query + " LIMIT ? OFFSET ?", (limit, offset)
        with self._reading("list runs") as db:
            rows = db.execute(query, window).fetchall()
        summaries = []
        for run_id, raw_status, goal, created, updated, total, end_record, lease_until, committed in rows:
            shown = shown_status(raw_status, lease_until)
            if status is not None and shown != status:
                continue
            end = json.loads(end_record) if end_record else {}
            summaries.append(
                RunSummary(
                    run_id=run_id,
                    status=shown,
                    goal=goal,
                    created_at=created,
                    updated_at=updated,
                    steps=total,
                    committed=committed,
                    failed_step=end.get("failed_step"),
                )
            )
        return summaries if status is None else summaries[offset : offset + limit]

    def _budget(self, db: Any, contract: ResourceContract) -> tuple[Cost, Cost]:
        """(spent, held) of the budget, created on first use, its expired holds taken back."""
        zero = _json(Cost(currency=contract.currency))
        db.execute(
            "INSERT INTO budgets VALUES (?,?,?,?,?) ON CONFLICT DO NOTHING",
            (contract.id, canonical_json(contract.model_dump(mode="json")), time.time(), zero, zero),
        )
        spent_text, held_text = db.execute(
            f"SELECT spent, held FROM budgets WHERE id=?{self.lock_rows}", (contract.id,)
        ).fetchone()
        spent, held = _cost(spent_text), _cost(held_text)
        expired = db.execute(
            "SELECT id, worst FROM budget_holds WHERE budget_id=? AND expires_at<?", (contract.id, time.time())
        ).fetchall()
        for hold_id, worst in expired:  # a dead process's holds go back
            held = _minus(held, _cost(worst))
            db.execute("DELETE FROM budget_holds WHERE id=?", (hold_id,))
        return spent, held

    def _save(self, db: Any, budget_id: str, spent: Cost, held: Cost) -> None:
        db.execute("UPDATE budgets SET spent=?, held=? WHERE id=?", (_json(spent), _json(held), budget_id))

    def budget_reserve(
        self, contract: ResourceContract, worst: Cost, expires_at: float, owner: str
    ) -> int | tuple[str, Any, Any]:
        with self._writing("reserve on a shared budget") as db:
            spent, held = self._budget(db, contract)
            broken = over_limit(contract, spent, held, worst)
            if broken is not None:
                self._save(db, contract.id or "", spent, held)
                return broken
            self._save(db, contract.id or "", spent, held + worst)
            row = db.execute(
                "INSERT INTO budget_holds (budget_id, owner, worst, expires_at) VALUES (?,?,?,?) RETURNING id",
                (contract.id, owner, _json(worst), expires_at),
            ).fetchone()
            return int(row[0])

    def budget_settle(self, contract_id: str, hold: int, actual: Cost | None) -> None:
        with self._writing("settle on a shared budget") as db:
            row = db.execute(f"SELECT spent, held FROM budgets WHERE id=?{self.lock_rows}", (contract_id,)).fetchone()
            if row is None:
                return
            spent, held = _cost(row[0]), _cost(row[1])
            found = db.execute("SELECT worst FROM budget_holds WHERE id=?", (hold,)).fetchone()
            if found is not None:  # gone when it expired and was taken back: only the actual is added
                held = _minus(held, _cost(found[0]))
                db.execute("DELETE FROM budget_holds WHERE id=?", (hold,))
            if actual is not None:
                spent = spent + actual
            self._save(db, contract_id, spent, held)

    def budget_record(self, contract: ResourceContract, cost: Cost) -> None:
        with self._writing("record on a shared budget") as db:
            spent, held = self._budget(db, contract)
            self._save(db, contract.id or "", spent + cost, held)

    def budget_state(self, contract_id: str) -> tuple[Cost, Cost, float] | None:
        with self._reading("read a shared budget") as db:
            row = db.execute("SELECT spent, held, started_at FROM budgets WHERE id=?", (contract_id,)).fetchone()
        return None if row is None else (_cost(row[0]), _cost(row[1]), float(row[2]))

    def budget_holds(self, contract_id: str) -> Iterator[dict[str, Any]]:
        """The holds of a shared budget (for inspection and tests)."""
        with self._reading("read a shared budget") as db:
            rows = db.execute(
                "SELECT id, owner, worst, expires_at FROM budget_holds WHERE budget_id=?", (contract_id,)
            ).fetchall()
        for hold_id, owner, worst, expires in rows:
            yield {"id": hold_id, "owner": owner, "worst": json.loads(worst), "expires_at": expires}
