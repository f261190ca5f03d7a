"""The server's own tables in PostgreSQL, in the run store's schema beside the core's tables.

`postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]`, the run store's URL: the
`server_` tables live in schema NAME (default `aos`) with the core's, versioned in
`server_meta` and created or upgraded by the migrations below under an advisory lock (workers
starting together migrate once). psycopg 3 with a connection pool (the core's
`PostgresTransactions`, as for its own tables), imported when such a URL is used. SQL is
written with `?` placeholders (as for SQLite) and portable clauses; every failure is a
`StoreError` naming the store (its password hidden).
"""

from __future__ import annotations

from typing import Any

from aos_core import PostgresTransactions, StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "PostgresDatabase", "safe_url", "split_url"]

_MIGRATION_LOCK = 0x414F5353  # "AOSS": held while the server's tables are created or upgraded

# MIGRATIONS[n] brings version n to n + 1. Version 1: the tables of the SQLite layout, and
# `server_workers` (each `aos worker`'s heartbeat, so a dead worker's runs are picked up).
MIGRATIONS: tuple[str, ...] = (
    """
CREATE TABLE IF NOT EXISTS server_keys (
    name TEXT PRIMARY KEY, key_id TEXT NOT NULL UNIQUE, digest TEXT NOT NULL, scope TEXT NOT NULL,
    contract TEXT, rate_limit DOUBLE PRECISION, created_at TEXT NOT NULL, revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS server_runs (
    run_id TEXT PRIMARY KEY, key_name TEXT, submitted_at TEXT NOT NULL,
    done INTEGER NOT NULL DEFAULT 0, cancel_asked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS server_runs_open ON server_runs (done);
CREATE TABLE IF NOT EXISTS server_idempotency (
    key_name TEXT NOT NULL, idempotency_key TEXT NOT NULL, body_sha256 TEXT NOT NULL, run_id TEXT NOT NULL,
    created_at TEXT NOT NULL, PRIMARY KEY (key_name, idempotency_key)
);
CREATE TABLE IF NOT EXISTS server_contracts (id TEXT PRIMARY KEY, contract TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS server_queue (
    seq BIGSERIAL PRIMARY KEY, run_id TEXT NOT NULL UNIQUE, options TEXT NOT NULL,
    enqueued_at DOUBLE PRECISION NOT NULL, claimed_by TEXT, claimed_at DOUBLE PRECISION, again TEXT
);
CREATE TABLE IF NOT EXISTS server_workers (
    executor_id TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, queue TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL, seen_at DOUBLE PRECISION NOT NULL
)
""",
)
SCHEMA_VERSION = len(MIGRATIONS)


safe_url = PostgresTransactions.safe_url  # the run store's own: one place hides a password
split_url = PostgresTransactions.split_url


class PostgresDatabase(PostgresTransactions):
    """The server's tables in PostgreSQL; safe to share between threads, processes and machines.
    Its transactions are `writing` and `reading` (`PostgresTransactions`)."""

    migration_lock = _MIGRATION_LOCK
    opening = "open the server's tables"

    def __init__(self, url: str, *, max_size: int = 4) -> None:
        super().__init__(url, min_size=1, max_size=max_size)
        self.path = self.location

    def _migrate(self, conn: Any) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS server_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)")
        row = conn.execute("SELECT value FROM server_meta WHERE name='schema_version'").fetchone()
        version = 0 if row is None else int(row[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"run store {self.location} has server tables of version {version}, newer than this aos-server "
                f"knows ({SCHEMA_VERSION}); upgrade aos-server"
            )
        for migration in MIGRATIONS[version:]:
            for statement in (s.strip() for s in migration.split(";")):
                if statement:
                    conn.execute(statement)
        conn.execute(
            "INSERT INTO server_meta VALUES ('schema_version', %s) ON CONFLICT (name) DO UPDATE"
            " SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
