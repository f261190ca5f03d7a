"""PostgreSQL run store: the store for deployments with several workers and machines.

`postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]`: the tables live in schema
NAME (default `aos`), created and upgraded when the store opens (under an advisory lock, so
workers starting together migrate once). psycopg 3 with a connection pool; imported only when
such a URL is used (`pip install 'aos-core[postgresql]'`).

The operations are `SQLRunStore`'s (`sql.py`), the same as SQLite's: a row read before it is
written is locked (`FOR UPDATE`), so a lease taken by compare-and-set, a fenced commit and a
reservation on a shared budget are each one serialisable step among every worker.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aos_core.contracts.exceptions import StoreError
from aos_core.runs.schema import RATE_BUCKETS_TABLE, SCHEMA_VERSION, TRACE_CONTEXT_TABLE, create_statements
from aos_core.runs.sql import SQLRunStore

__all__ = ["PostgresRunStore", "safe_url"]

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_MIGRATION_LOCK = 0x414F53  # "AOS": the advisory lock held while a schema is created or upgraded


def safe_url(url: str) -> str:
    """The URL with its password replaced, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


class _Db:
    """A connection in a transaction, taking SQL written with `?` placeholders."""

    __slots__ = ("conn",)

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, args: Any = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), args)

    def executemany(self, sql: str, rows: Any) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)


class PostgresRunStore(SQLRunStore):
    """Runs in a PostgreSQL schema; safe to share between threads, processes and machines."""

    lock_rows = " FOR UPDATE"
    now_sql = "EXTRACT(EPOCH FROM clock_timestamp())::float8"  # the server's clock, whatever the workers' say

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 8) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise StoreError("a postgresql:// store needs psycopg: pip install 'aos-core[postgresql]'") from None
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.schema = query.pop("schema", "aos")
        if not _SCHEMA_NAME.match(self.schema):
            raise StoreError(f"schema {self.schema!r} in the store URL is not a plain lower-case name")
        self.url = urlunsplit(parts._replace(query=urlencode(query)))
        self.location = safe_url(url)
        self._errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        schema = self.schema

        def configure(conn: Any) -> None:
            conn.execute(f"SET search_path TO {schema}")
            conn.commit()

        try:
            self._pool = ConnectionPool(
                self.url, min_size=min_size, max_size=max_size, configure=configure, open=True, timeout=10
            )
            self._pool.wait(timeout=10)
            self._ensure_schema()
        except StoreError:
            raise
        except Exception as exc:  # noqa: BLE001 - psycopg's and the pool's errors alike: one line naming the store
            pool = getattr(self, "_pool", None)
            if pool is not None:
                pool.close()
            raise self._error(exc, "open") from None

    def _error(self, exc: BaseException, doing: str) -> StoreError:
        text = " ".join(str(exc).split()) or type(exc).__name__
        if "could not serialize" in text or "deadlock" in text or ("lock" in text and "timeout" in text):
            return StoreError(f"run store {self.location} is busy ({doing}); try again")
        if "connect" in text or "Connection refused" in text or "timeout" in text.lower():
            return StoreError(
                f"cannot reach the run store {self.location} ({doing}): {text[:200]}; check --store or AOS_STORE"
            )
        return StoreError(f"run store {self.location}: cannot {doing}: {text[:300]}")

    def _ensure_schema(self) -> None:
        with self._pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
            conn.execute(f"SET LOCAL search_path TO {self.schema}")
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

    @contextmanager
    def _writing(self, doing: str) -> Iterator[_Db]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield _Db(conn)
        except self._errors as exc:
            raise self._error(exc, doing) from None

    @contextmanager
    def _reading(self, doing: str) -> Iterator[_Db]:
        """One read transaction (repeatable read), so what is read together is one snapshot."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield _Db(conn)
        except self._errors as exc:
            raise self._error(exc, doing) from None

    def close(self) -> None:
        self._pool.close()

    def drop(self) -> None:
        """Drop the store's schema and everything in it (tests; never called by AOS itself)."""
        with self._pool.connection() as conn, conn.transaction():
            conn.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE")
