"""An SQLite file opened the safe way: WAL, a versioned schema, one-line errors.

Everything that can go wrong opening, reading or writing the file (a directory where the file
should be, an unwritable or read-only place, a file that is not SQLite or is damaged, a lock held
by another process) becomes a `StoreError` naming the file and what to do; reading still works on
a store that can only be read. Writes run in `BEGIN IMMEDIATE` transactions, reads in one read
transaction each, so what is read together is one snapshot (both in `transactions.py`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import AbstractContextManager
from pathlib import Path

from aos_core.contracts.exceptions import StoreError
from aos_core.runs.transactions import sqlite_reading, sqlite_writing

__all__ = ["SQLiteFile"]

_BUSY_MS = 5000


class SQLiteFile:
    """The connection to one SQLite file, shared by the threads of a process (under a lock).
    Subclasses give the schema version and `_upgrade`, which creates or migrates the schema."""

    schema_version = 1

    def __init__(self, path: str | Path, what: str, durability: str = "normal") -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self.what = what  # "run store", "memory store": how errors name the file
        self._lock = threading.Lock()
        self.read_only = False
        self.closed = False  # closed, it still reads, on a connection of its own per read (below)
        self._db = self._open(durability)

    def _upgrade(self, db: sqlite3.Connection, version: int) -> None:
        raise NotImplementedError

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self.closed = True

    # -- opening -------------------------------------------------------------------------------
    def _open(self, durability: str) -> sqlite3.Connection:
        path = self.path
        if path.exists() and path.is_dir():
            raise StoreError(f"{self.what} {path} is a directory; give the path of a file in it")
        if path.exists() and not path.is_file():
            raise StoreError(f"{self.what} {path} is not a regular file; give the path of an SQLite file")
        parent = path.parent
        if parent.exists() and not parent.is_dir():
            raise StoreError(
                f"cannot use {self.what} {path}: {parent} is a file, not a directory; check AOS_HOME or --store"
            )
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"cannot create {parent} for the {self.what}: {exc.strerror or exc}; set AOS_HOME or --store"
            ) from None
        writable = os.access(parent, os.W_OK) and (not path.exists() or os.access(path, os.W_OK))
        if not writable:
            if not path.exists():
                raise StoreError(f"cannot create {self.what} {path}: {parent} is not writable; set AOS_HOME or --store")
            return self._open_read_only()
        try:
            db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=_BUSY_MS / 1000)
            db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={'FULL' if durability == 'full' else 'NORMAL'}")
            self._ensure_schema(db)
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
            except sqlite3.Error as exc:
                last = exc
                continue
            if version != self.schema_version:
                raise StoreError(
                    f"{self.what} {self.path} is read-only and has schema version {version}, "
                    f"not {self.schema_version}; open it once where it is writable to upgrade it"
                )
            return db
        raise self._error(last or sqlite3.DatabaseError("unreadable"), "open")

    def _ensure_schema(self, db: sqlite3.Connection) -> None:
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version == self.schema_version:
            return
        if version > self.schema_version:
            raise StoreError(
                f"{self.what} {self.path} has schema version {version}, newer than this AOS knows "
                f"({self.schema_version}); upgrade aos-core"
            )
        db.execute("BEGIN IMMEDIATE")
        try:
            self._upgrade(db, version)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _error(self, exc: BaseException, doing: str) -> StoreError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return StoreError(
                f"{self.what} {self.path} is locked by another process ({doing}); try again when it is done"
            )
        if "not a database" in text or "malformed" in text or "disk image" in text:
            return StoreError(
                f"{self.what} {self.path} is not a readable AOS {self.what} ({text}); "
                "move it away or point --store elsewhere"
            )
        if "readonly" in text or "read-only" in text:
            return StoreError(f"{self.what} {self.path} is read-only; cannot {doing}; use a writable --store")
        return StoreError(f"{self.what} {self.path}: cannot {doing}: {text}")

    def _writing(self, doing: str) -> AbstractContextManager[sqlite3.Connection]:
        """One immediate (write) transaction (`sqlite_writing`); a read-only store refuses."""
        if self.read_only:
            raise StoreError(f"{self.what} {self.path} is read-only; cannot {doing}; use a writable --store")
        return sqlite_writing(self._db, self._lock, self._error, doing)

    def _reading(self, doing: str) -> AbstractContextManager[sqlite3.Connection]:
        """One read transaction, so what is read together is one snapshot (`sqlite_reading`)."""
        return sqlite_reading(self._db, self._lock, self._error, doing, self._own_reader)

    def _own_reader(self) -> sqlite3.Connection | None:
        """A connection of a read's own once the store is closed: a run's result read after its
        runtime closed reads its outcomes from the file."""
        return self._open_read_only() if self.closed else None
