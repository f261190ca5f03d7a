"""The server's own tables, kept in the run store's SQLite file beside the core's.

One file holds everything a deployment must back up or move: runs, budgets, and the server's
keys, run records and queue. The server's tables carry the prefix `server_` and their own schema
version (table `server_meta`), so the core's schema and migrations never see them. The file is
opened by the core first (through a `Runtime`'s store), so the core's schema exists before
these tables are added. Writes are `BEGIN IMMEDIATE` transactions (the core's, as for its own
tables); every failure is a `StoreError` naming the file.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Protocol

from aos_core import StoreError, sqlite_reading, sqlite_writing

__all__ = ["SCHEMA_VERSION", "Database", "ServerDatabase", "is_postgres", "open_database"]

SCHEMA_VERSION = 1
_BUSY_MS = 10_000

_CREATE = """
CREATE TABLE IF NOT EXISTS server_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS server_keys (
    name TEXT PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    digest TEXT NOT NULL,
    scope TEXT NOT NULL,
    contract TEXT,
    rate_limit REAL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS server_runs (
    run_id TEXT PRIMARY KEY,
    key_name TEXT,
    submitted_at TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0,
    cancel_asked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS server_runs_open ON server_runs (done);
CREATE TABLE IF NOT EXISTS server_idempotency (
    key_name TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    body_sha256 TEXT NOT NULL,
    run_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (key_name, idempotency_key)
);
CREATE TABLE IF NOT EXISTS server_contracts (id TEXT PRIMARY KEY, contract TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS server_queue (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    options TEXT NOT NULL,
    enqueued_at REAL NOT NULL,
    claimed_by TEXT,
    claimed_at REAL,
    again TEXT
);
"""


class ServerDatabase(Protocol):
    """What the keys, run records and queue ask of the tables: SQLite's `Database` or
    `PostgresDatabase` (`db_postgres.py`), both taking SQL with `?` placeholders."""

    location: str

    def writing(self, doing: str) -> Any:
        """A context manager: one write transaction, its connection (with `execute`)."""
        ...

    def reading(self, doing: str) -> Any:
        """A context manager: one read transaction."""
        ...

    def close(self) -> None: ...


def is_postgres(store: str | Path) -> bool:
    """Whether a store URL names PostgreSQL."""
    return str(store).startswith(("postgresql://", "postgres://"))


def open_database(store: str | Path) -> ServerDatabase:
    """The server's tables in the store `store` names: a PostgreSQL URL or an SQLite file."""
    if is_postgres(store):
        from aos_server.db_postgres import PostgresDatabase

        return PostgresDatabase(str(store))
    return Database(store)


class Database:
    """One connection to the store's file, shared by the threads of a process (under a lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.location = str(self.path)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=10)
            self._db.execute(f"PRAGMA busy_timeout={_BUSY_MS}")
            self._db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise StoreError(f"run store {self.path}: cannot open the server's tables: {exc}") from None
        with self.writing("create the server's tables") as db:
            row = db.execute("SELECT name FROM sqlite_master WHERE type='table' AND name='server_meta'").fetchone()
            version = 0
            if row is not None:
                found = db.execute("SELECT value FROM server_meta WHERE name='schema_version'").fetchone()
                version = int(found[0]) if found else 0
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"run store {self.path} has server tables of version {version}, newer than this aos-server "
                    f"knows ({SCHEMA_VERSION}); upgrade aos-server"
                )
            for statement in (s.strip() for s in _CREATE.split(";")):
                if statement:
                    db.execute(statement)
            db.execute("INSERT OR REPLACE INTO server_meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))

    def writing(self, doing: str) -> AbstractContextManager[sqlite3.Connection]:
        """One immediate (write) transaction, rolled back on any exception."""
        return sqlite_writing(self._db, self._lock, self._error, doing)

    def reading(self, doing: str) -> AbstractContextManager[sqlite3.Connection]:
        """One read transaction: what is read together is one snapshot."""
        return sqlite_reading(self._db, self._lock, self._error, doing)

    def _error(self, exc: sqlite3.Error, doing: str) -> StoreError:
        return StoreError(f"run store {self.path}: cannot {doing}: {exc}")

    def close(self) -> None:
        with self._lock:
            self._db.close()
