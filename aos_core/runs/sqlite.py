"""SQLite run store: one file, WAL journal, a versioned schema.

Durability: with the default `synchronous=NORMAL` in WAL mode a committed step survives the
process being killed (SIGKILL, a crash, an OOM kill) but may be lost on power failure or an OS
crash; `durability="full"` (`synchronous=FULL`) also survives those, at the cost of an fsync
per commit.

The layout and its migrations are in `sqlite_schema.py`; a database made by an older version
is upgraded in place when opened. Every failure to open, read or write the file is a
`StoreError` naming the file and what to do.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic_core import from_json

from aos_core.contracts.exceptions import RunBusy, RunNotFound, StoreError
from aos_core.contracts.runs import RunStatus, RunSummary
from aos_core.runs.sqlite_schema import SCHEMA_VERSION, upgrade
from aos_core.runs.store import Hold, LeaseLost, StoredRun
from aos_core.runs.trace import TraceDocument, canonical_json

__all__ = ["SCHEMA_VERSION", "SQLiteRunStore"]

_BUSY_MS = 5000


def _now_text() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class SQLiteRunStore:
    """Runs in one SQLite file; safe to share between the runtime's threads."""

    def __init__(self, path: str | Path, durability: Literal["normal", "full"] = "normal") -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._lock = threading.Lock()
        self.read_only = False
        self._db = self._open(durability)

    # -- opening -------------------------------------------------------------------------------
    def _open(self, durability: str) -> sqlite3.Connection:
        path = self.path
        if path.exists() and path.is_dir():
            raise StoreError(f"run store {path} is a directory; give a file, e.g. {path / 'runs.sqlite3'}")
        if path.exists() and not path.is_file():
            raise StoreError(f"run store {path} is not a regular file; give the path of an SQLite file")
        parent = path.parent
        if parent.exists() and not parent.is_dir():
            raise StoreError(
                f"cannot use run store {path}: {parent} is a file, not a directory; check AOS_HOME or --store"
            )
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create {parent} for the run store: {exc.strerror or exc}; set AOS_HOME or --store"
            ) from None
        writable = os.access(parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
        if not writable:
            if not path.exists():
                raise StoreError(f"cannot create run store {path}: {parent} is not writable; set AOS_HOME or --store")
            return self._open_read_only()
        try:
            db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=_BUSY_MS / 1000)
            db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
            self._upgrade(db)
        except sqlite3.Error as exc:
            raise self._error(exc, "open") from None
        return db

    def _open_read_only(self) -> sqlite3.Connection:
        self.read_only = True
        last: sqlite3.Error | None = None
        for mode in ("ro", "ro&immutable=1"):  # immutable: a WAL file in a read-only directory
            try:
                db = sqlite3.connect(
                    f"file:{self.path}?mode={mode}", uri=True, check_same_thread=False, isolation_level=None
                )
                version = db.execute("PRAGMA user_version").fetchone()[0]
                db.execute("SELECT 1 FROM runs LIMIT 1").fetchall()
            except sqlite3.Error as exc:
                last = exc
                continue
            if version != SCHEMA_VERSION:
                raise StoreError(
                    f"run store {self.path} is read-only and has schema version {version}, not {SCHEMA_VERSION}; "
                    "open it once where it is writable to upgrade it"
                )
            return db
        raise self._error(last or sqlite3.DatabaseError("unreadable"), "open")

    def _upgrade(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"run store {self.path} has schema version {version}, newer than this AOS knows ({SCHEMA_VERSION}); "
                "upgrade aos-core"
            )
        db.execute("BEGIN IMMEDIATE")
        try:
            upgrade(db, version)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _error(self, exc: BaseException, doing: str) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreError(
                f"run store {self.path} is locked by another process ({doing}); try again when it is done"
            )
        if "not a database" in text or "malformed" in text or "disk image" in text:
            return StoreError(
                f"run store {self.path} is not a readable AOS run store ({text}); "
                "move it away or point --store elsewhere"
            )
        if "readonly" in text or "read-only" in text:
            return StoreError(f"run store {self.path} is read-only; cannot {doing}; use a writable --store")
        return StoreError(f"run store {self.path}: cannot {doing}: {text}")

    @contextmanager
    def _writing(self, doing: str) -> Iterator[sqlite3.Connection]:
        if self.read_only:
            raise StoreError(f"run store {self.path} is read-only; cannot {doing}; use a writable --store")
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise self._error(exc, doing) from None
            try:
                yield db
            except BaseException as exc:
                db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise self._error(exc, doing) from None
                raise
            try:
                db.execute("COMMIT")
            except sqlite3.Error as exc:
                db.execute("ROLLBACK")
                raise self._error(exc, doing) from None

    @contextmanager
    def _reading(self, doing: str) -> Iterator[sqlite3.Connection]:
        """One read transaction, so what is read together is one snapshot."""
        with self._lock:
            db = self._db
            try:
                db.execute("BEGIN")
                try:
                    yield db
                finally:
                    db.execute("COMMIT")
            except sqlite3.Error as exc:
                raise self._error(exc, doing) from None

    # -- writes --------------------------------------------------------------------------------
    def create_run(self, run_id: str, header: dict[str, Any], goal: str, owner: str, lease_s: float) -> None:
        now = _now_text()
        total = len(header.get("plan", {}).get("steps", []))
        with self._writing("record a new run") as db:
            db.execute("INSERT INTO runs VALUES (?,?,?,?,?)", (run_id, goal, now, total, canonical_json(header)))
            db.execute(
                "INSERT INTO run_state VALUES (?,?,?,?,?,NULL)", (run_id, "running", now, owner, time.time() + lease_s)
            )

    def acquire(self, run_id: str, owner: str, lease_s: float) -> StoredRun:
        full = self.resolve_id(run_id)
        with self._writing("take the run's lease") as db:
            row = db.execute("SELECT owner, lease_until FROM run_state WHERE id=?", (full,)).fetchone()
            if row is None:
                raise RunNotFound(f"no run {run_id!r} in {self.path}; 'aos runs' lists them")
            holder, until = row
            now = time.time()
            if holder is not None and holder != owner and until is not None and until > now:
                raise RunBusy(
                    f"run {full} is held by another process ({holder}) for {until - now:.0f} s more; "
                    "wait for it to finish, or, if it died, until its lease expires"
                )
            db.execute(
                "UPDATE run_state SET owner=?, lease_until=?, status='running', updated_at=? WHERE id=?",
                (owner, now + lease_s, _now_text(), full),
            )
            return self._load(db, full)

    def renew(self, run_id: str, owner: str, lease_s: float) -> None:
        with self._writing("renew the run's lease") as db:
            self._fence(db, run_id, owner)
            db.execute("UPDATE run_state SET lease_until=? WHERE id=?", (time.time() + lease_s, run_id))

    def hold(self, run_id: str, owner: str, hold: Hold) -> None:
        with self._writing("note an attempt in flight") as db:
            self._fence(db, run_id, owner)
            db.execute(
                "INSERT INTO holds VALUES (?,?,?,?,?)",
                (run_id, hold.step_id, hold.attempt, canonical_json(hold.worst), int(hold.idempotent)),
            )

    def commit_steps(self, run_id: str, owner: str, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        rows = [(run_id, r["id"], canonical_json(r)) for r in records]
        with self._writing("commit steps") as db:
            self._fence(db, run_id, owner)
            db.executemany("INSERT OR REPLACE INTO steps VALUES (?,?,?)", rows)
            db.executemany("DELETE FROM holds WHERE run_id=? AND step_id=?", [(run_id, r["id"]) for r in records])

    def finish_run(self, run_id: str, owner: str, status: RunStatus, end: dict[str, Any] | None) -> None:
        record = canonical_json(end) if end is not None else None
        with self._writing("record the run's end") as db:
            self._fence(db, run_id, owner)
            db.execute(
                "UPDATE run_state SET status=?, end_record=COALESCE(?, end_record), updated_at=?, owner=NULL,"
                " lease_until=NULL WHERE id=?",
                (status, record, _now_text(), run_id),
            )

    def _fence(self, db: sqlite3.Connection, run_id: str, owner: str) -> None:
        row = db.execute("SELECT owner FROM run_state WHERE id=?", (run_id,)).fetchone()
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
            raise RunNotFound(f"no run {run_id!r} in {self.path}; 'aos runs' lists them")
        raise RunNotFound(f"run id {run_id!r} is ambiguous ({', '.join(ids)}, ...); give more characters")

    def load_run(self, run_id: str) -> StoredRun:
        full = self.resolve_id(run_id)
        with self._reading("read the run") as db:
            return self._load(db, full)

    def _load(self, db: sqlite3.Connection, full: str) -> StoredRun:
        row = db.execute(
            "SELECT r.header, s.status, s.owner, s.lease_until, s.end_record"
            " FROM runs r JOIN run_state s ON s.id = r.id WHERE r.id=?",
            (full,),
        ).fetchone()
        if row is None:
            raise RunNotFound(f"no run {full!r} in {self.path}; 'aos runs' lists them")
        header, status, owner, lease_until, end_record = row
        steps = db.execute("SELECT step_id, record FROM steps WHERE run_id=?", (full,)).fetchall()
        holds = db.execute(
            "SELECT step_id, attempt, worst, idempotent FROM holds WHERE run_id=? ORDER BY rowid", (full,)
        ).fetchall()
        doc = TraceDocument(json.loads(header))
        for step_id, record in steps:
            doc.steps[step_id] = from_json(record)
            doc.raw_steps[step_id] = record  # stored canonical: no need to serialise it again
        doc.end = json.loads(end_record) if end_record else None
        return StoredRun(
            full,
            _shown_status(status, lease_until),
            doc,
            [Hold(s, a, json.loads(w), bool(i)) for s, a, w, i in holds],
            owner,
            lease_until,
        )

    def list_runs(self, limit: int = 50, offset: int = 0, status: str | None = None) -> list[RunSummary]:
        query = (
            "SELECT r.id, s.status, r.goal, r.created_at, s.updated_at, r.steps_total, s.end_record, s.lease_until,"
            " (SELECT COUNT(*) FROM steps c WHERE c.run_id = r.id)"
            " FROM runs r JOIN run_state s ON s.id = r.id ORDER BY r.rowid DESC"
        )
        window: tuple[int, ...] = ()
        if status is None:  # the shown status depends on the lease, so a status filter runs here
            query, window = query + " LIMIT ? OFFSET ?", (limit, offset)
        with self._reading("list runs") as db:
            rows = db.execute(query, window).fetchall()
        summaries = []
        for run_id, raw_status, goal, created, updated, total, end_record, lease_until, committed in rows:
            shown = _shown_status(raw_status, lease_until)
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

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _shown_status(status: str, lease_until: float | None) -> RunStatus:
    """A run recorded as running whose lease expired was interrupted (killed, crashed)."""
    if status == "running" and (lease_until is None or lease_until < time.time()):
        return "interrupted"
    return status  # type: ignore[return-value]
