"""PostgreSQL run store: the store for deployments with several workers and machines.

`postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]`: the tables live in schema
NAME (default `aos`), created and upgraded when the store opens (under an advisory lock, so
workers starting together migrate once). psycopg 3 with a connection pool (`transactions.py`);
imported only when such a URL is used (`pip install 'aos-core[postgresql]'`).

The operations are `SQLRunStore`'s (`sql.py`), the same as SQLite's: a row read before it is
written is locked (`FOR UPDATE`), so a lease taken by compare-and-set, a fenced commit and a
reservation on a shared budget are each one serialisable step among every worker.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from aos_core.contracts.exceptions import StoreError
from aos_core.runs.schema import RATE_BUCKETS_TABLE, SCHEMA_VERSION, TRACE_CONTEXT_TABLE, create_statements
from aos_core.runs.sql import SQLRunStore
from aos_core.runs.transactions import PostgresConnection, PostgresTransactions

__all__ = ["PostgresRunStore"]

_MIGRATION_LOCK = 0x414F53  # "AOS": the advisory lock held while a schema is created or upgraded


class PostgresRunStore(PostgresTransactions, SQLRunStore):
    """Runs in a PostgreSQL schema; safe to share between threads, processes and machines."""

    lock_rows = " FOR UPDATE"
    now_sql = "EXTRACT(EPOCH FROM clock_timestamp())::float8"  # the server's clock, whatever the workers' say
    migration_lock = _MIGRATION_LOCK
    busy = True
    reach_hint = "; check --store or AOS_STORE"

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        PostgresTransactions.__init__(self, url, min_size=min_size, max_size=max_size)

    def _migrate(self, conn: Any) -> None:
        conn.execute("CREATE TABLE IF NOT EXISTS aos_schema (version INTEGER NOT NULL)")
        row = conn.execute("SELECT version FROM aos_schema").fetchone()
        version = 0 if row is None else int(row[0])
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"run store {self.location} has schema version {version}, newer than this AOS knows "
                f"({SCHEMA_VERSION}); upgrade aos-core"
            )
        if version == 0:
            for statement in create_statements("BIGSERIAL PRIMARY KEY"):
                conn.execute(statement)
            conn.execute("INSERT INTO aos_schema VALUES (%s)", (SCHEMA_VERSION,))
        elif version < SCHEMA_VERSION:  # one step at a time, like the SQLite store; each is idempotent
            if version < 2:
                conn.execute(TRACE_CONTEXT_TABLE)
            conn.execute(RATE_BUCKETS_TABLE)
            conn.execute("UPDATE aos_schema SET version = %s", (SCHEMA_VERSION,))

    def _writing(self, doing: str) -> AbstractContextManager[PostgresConnection]:
        return self.writing(doing)

    def _reading(self, doing: str) -> AbstractContextManager[PostgresConnection]:
        return self.reading(doing)

    def drop(self) -> None:
        """Drop the store's schema and everything in it (tests; never called by AOS itself)."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
