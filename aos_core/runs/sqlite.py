"""SQLite run store: one file, WAL journal.

Durability: with the default `synchronous=NORMAL` in WAL mode a committed step survives the
process being killed (SIGKILL, a crash, an OOM kill) but may be lost on power failure or an OS
crash; `durability="full"` (`synchronous=FULL`) also survives those, at the cost of an fsync
per commit.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic_core import from_json

from aos_core.contracts.runs import RunStatus, RunSummary
from aos_core.runs.store import RunNotFound, StoredRun
from aos_core.runs.trace import TraceDocument, canonical_json

__all__ = ["SQLiteRunStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    goal TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    pid INTEGER,
    header TEXT NOT NULL,
    end_record TEXT
);
CREATE TABLE IF NOT EXISTS steps (
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id)
);
CREATE TABLE IF NOT EXISTS started (
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id)
);
"""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SQLiteRunStore:
    """Runs in one SQLite file; safe to share between the runtime's threads."""

    def __init__(self, path: str | Path, durability: Literal["normal", "full"] = "normal") -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
        self._db.execute("PRAGMA busy_timeout=30000")
        self._db.executescript(_SCHEMA)

    def _write(self, statements: list[tuple[str, tuple[Any, ...]]], many: tuple[str, list[Any]] | None = None) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                if many is not None:
                    self._db.executemany(*many)
                for sql, args in statements:
                    self._db.execute(sql, args)
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def create_run(self, run_id: str, header: dict[str, Any], goal: str) -> None:
        now = _now()
        self._write(
            [
                (
                    "INSERT INTO runs (id, status, goal, created_at, updated_at, pid, header) VALUES (?,?,?,?,?,?,?)",
                    (run_id, "running", goal, now, now, os.getpid(), canonical_json(header)),
                )
            ]
        )

    def mark_started(self, run_id: str, step_id: str) -> None:
        self._write([("INSERT OR IGNORE INTO started (run_id, step_id) VALUES (?,?)", (run_id, step_id))])

    def commit_steps(self, run_id: str, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        rows = [(run_id, r["id"], canonical_json(r)) for r in records]
        self._write(
            [("UPDATE runs SET updated_at=? WHERE id=?", (_now(), run_id))],
            many=("INSERT OR REPLACE INTO steps (run_id, step_id, record) VALUES (?,?,?)", rows),
        )

    def finish_run(self, run_id: str, status: str, end: dict[str, Any] | None) -> None:
        record = canonical_json(end) if end is not None else None
        self._write(
            [("UPDATE runs SET status=?, end_record=?, updated_at=? WHERE id=?", (status, record, _now(), run_id))]
        )

    def set_status(self, run_id: str, status: str) -> None:
        self._write(
            [("UPDATE runs SET status=?, updated_at=?, pid=? WHERE id=?", (status, _now(), os.getpid(), run_id))]
        )

    def resolve_id(self, run_id: str) -> str:
        """The full id of `run_id`, which may be a unique prefix."""
        with self._lock:
            rows = self._db.execute(
                "SELECT id FROM runs WHERE id = ? OR id LIKE ? ORDER BY id LIMIT 3",
                (run_id, run_id.replace("%", "").replace("_", "\\_") + "%"),
            ).fetchall()
        ids = [r[0] for r in rows]
        if run_id in ids:
            return run_id
        if len(ids) == 1:
            return str(ids[0])
        if not ids:
            raise RunNotFound(f"no run {run_id!r} in {self.path}; 'aos runs' lists them")
        raise RunNotFound(f"run id {run_id!r} is ambiguous ({', '.join(ids)}, ...); give more characters")

    def load_run(self, run_id: str) -> StoredRun:
        full = self.resolve_id(run_id)
        with self._lock:
            row = self._db.execute("SELECT status, header, end_record, pid FROM runs WHERE id=?", (full,)).fetchone()
            steps = self._db.execute("SELECT step_id, record FROM steps WHERE run_id=?", (full,)).fetchall()
            started = self._db.execute("SELECT step_id FROM started WHERE run_id=?", (full,)).fetchall()
        status, header, end_record, pid = row
        status = _shown_status(status, pid)
        doc = TraceDocument(json.loads(header))
        for step_id, record in steps:
            doc.steps[step_id] = from_json(record)  # pydantic-core's parser: same values, about twice as fast
            doc.raw_steps[step_id] = record  # stored canonical: no need to serialise it again
        doc.end = json.loads(end_record) if end_record else None
        in_flight = sorted(s for (s,) in started if s not in doc.steps)
        return StoredRun(full, status, doc, in_flight, pid)

    def list_runs(self, limit: int = 50) -> list[RunSummary]:
        with self._lock:
            rows = self._db.execute(
                "SELECT r.id, r.status, r.goal, r.created_at, r.updated_at, r.header, r.end_record, r.pid,"
                " (SELECT COUNT(*) FROM steps s WHERE s.run_id = r.id)"
                " FROM runs r ORDER BY r.rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        summaries = []
        for run_id, status, goal, created, updated, header, end_record, pid, committed in rows:
            end = json.loads(end_record) if end_record else {}
            shown = _shown_status(status, pid)
            summaries.append(
                RunSummary(
                    run_id=run_id,
                    status=shown,
                    goal=goal,
                    created_at=created,
                    updated_at=updated,
                    steps=len(json.loads(header)["plan"]["steps"]),
                    committed=committed,
                    failed_step=end.get("failed_step"),
                )
            )
        return summaries

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _shown_status(status: str, pid: int | None) -> RunStatus:
    """A run recorded as running whose process is gone was interrupted (killed, crashed)."""
    if status == "running" and pid and not _alive(pid):
        return "interrupted"
    return status  # type: ignore[return-value]


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
