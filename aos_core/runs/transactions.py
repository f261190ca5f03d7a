"""Transactions on a store's database, written once for the run store and the server's tables.

SQLite (`sqlite_writing`, `sqlite_reading`): one connection shared by the threads of a process
under a lock; a write is one `BEGIN IMMEDIATE` transaction, rolled back on any exception; a read
is one read transaction, so what is read together is one snapshot. PostgreSQL
(`PostgresTransactions`, the base of a store): a pool of connections whose `search_path` is the
store's schema; a write is one transaction, a read one `REPEATABLE READ READ ONLY` transaction
(one snapshot). Each turns the driver's errors into a one-line `StoreError` naming the store: an
SQLite store says how (`error`); PostgreSQL's classification is `PostgresTransactions._error`,
what differs between its users a class attribute. psycopg is imported only when a PostgreSQL
store opens.
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aos_core.contracts.exceptions import StoreError

__all__ = ["PostgresConnection", "PostgresTransactions", "sqlite_reading", "sqlite_writing"]

SQLiteErrors = Callable[[sqlite3.Error, str], StoreError]
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@contextmanager
def sqlite_writing(
    db: sqlite3.Connection, lock: threading.Lock, error: SQLiteErrors, doing: str
) -> Iterator[sqlite3.Connection]:
    """One immediate (write) transaction on `db` (opened with `isolation_level=None`), under
    `lock`: committed when the block ends, rolled back on any exception; an `sqlite3.Error` (from
    the block too) becomes `error(exc, doing)`."""
    with lock:
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise error(exc, doing) from None
        try:
            yield db
        except BaseException as exc:
            db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise error(exc, doing) from None
            raise
        try:
            db.execute("COMMIT")
        except sqlite3.Error as exc:
            db.execute("ROLLBACK")
            raise error(exc, doing) from None


@contextmanager
def sqlite_reading(
    db: sqlite3.Connection,
    lock: threading.Lock,
    error: SQLiteErrors,
    doing: str,
    own: Callable[[], sqlite3.Connection | None] | None = None,
) -> Iterator[sqlite3.Connection]:
    """One read transaction on `db` under `lock`, so what is read together is one snapshot; an
    `sqlite3.Error` becomes `error(exc, doing)`. `own`, called under the lock: a connection of
    the read's own to use instead of `db` (closed after the read), or None for `db`."""
    with lock:
        conn = own() if own is not None else None
        if conn is None:
            conn = db
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise error(exc, doing) from None
        finally:
            if conn is not db:
                conn.close()


class PostgresConnection:
    """A connection in a transaction, taking SQL written with `?` placeholders."""

    __slots__ = ("conn",)

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, args: Any = ()) -> Any:
        return self.conn.execute(sql.replace("?", "%s"), args)

    def executemany(self, sql: str, rows: Any) -> None:
        with self.conn.cursor() as cursor:
            cursor.executemany(sql.replace("?", "%s"), rows)


class PostgresTransactions:
    """A pool of connections to the PostgreSQL database a store URL names
    (`postgresql://...[?schema=NAME]`, `split_url`), each with `search_path` set to the schema, and
    its transactions; `location` names the store in messages (its password hidden, `safe_url`).
    A store extends it: `_migrate(conn)` creates or upgrades its tables when it opens, in one
    transaction holding the advisory lock `migration_lock` (workers starting together migrate
    once), after the schema is created; whatever fails while it opens closes the pool, and
    anything but a `StoreError` is `_error(exc, opening)`.

    `busy`: a serialisation failure, deadlock or lock timeout is said to be "busy ... try again";
    `reach_hint`: what follows the message for a store it cannot reach."""

    migration_lock: int
    opening = "open"
    busy = False
    reach_hint = ""

    def __init__(self, store_url: str, *, min_size: int, max_size: int) -> None:
        url, schema = self.split_url(store_url)  # a bad schema name: refused before psycopg is needed
        try:
            import psycopg
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise StoreError("a postgresql:// store needs psycopg: pip install 'aos-core[postgresql]'") from None
        self.url, self.schema, self.location = url, schema, self.safe_url(store_url)
        self._errors: tuple[type[BaseException], ...] = (psycopg.Error,)

        def configure(conn: Any) -> None:
            conn.execute(f"SET search_path TO {schema}")
            conn.commit()

        try:
            # one connection first: a store that cannot be reached fails here at once with the
            # driver's reason, rather than after the pool's 10 s of retries logged line by line
            psycopg.connect(url, connect_timeout=10).close()
            self._pool = ConnectionPool(
                url, min_size=min_size, max_size=max_size, configure=configure, open=True, timeout=10
            )
            self._pool.wait(timeout=10)
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (self.migration_lock,))
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                conn.execute(f"SET LOCAL search_path TO {schema}")
                self._migrate(conn)
        except BaseException as exc:
            pool = getattr(self, "_pool", None)
            if pool is not None:
                pool.close()  # a refused store too (newer than this code knows): its connections end now
            if isinstance(exc, StoreError) or not isinstance(exc, Exception):
                raise
            raise self._error(exc, self.opening) from None

    @staticmethod
    def split_url(url: str) -> tuple[str, str]:
        """(the libpq URL without `schema=`, `postgres://` written `postgresql://`; the schema
        name, default `aos`); `StoreError` for a name that is not a plain lower-case identifier."""
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        schema = query.pop("schema", "aos")
        if not _SCHEMA_NAME.match(schema):
            raise StoreError(f"schema {schema!r} in the store URL is not a plain lower-case name")
        scheme = "postgresql" if parts.scheme == "postgres" else parts.scheme
        return urlunsplit(parts._replace(scheme=scheme, query=urlencode(query))), schema

    @staticmethod
    def safe_url(url: str) -> str:
        """The URL with its password replaced, for messages."""
        parts = urlsplit(url)
        if parts.password is None:
            return url
        host = parts.netloc.rpartition("@")[2]
        return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))

    def _migrate(self, conn: Any) -> None:
        """Create or upgrade the store's tables (`conn`: a psycopg connection, `%s` placeholders)."""
        raise NotImplementedError

    def _error(self, exc: BaseException, doing: str) -> StoreError:
        """`exc` as one line naming the store and what it was doing."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        if self.busy and (
            "could not serialize" in text or "deadlock" in text or ("lock" in text and "timeout" in text)
        ):
            return StoreError(f"run store {self.location} is busy ({doing}); try again")
        if "connect" in text or "resolve host" in text or "timeout" in text.lower():
            return StoreError(f"cannot reach the run store {self.location} ({doing}): {text[:200]}{self.reach_hint}")
        return StoreError(f"run store {self.location}: cannot {doing}: {text[:300]}")

    @contextmanager
    def writing(self, doing: str) -> Iterator[PostgresConnection]:
        """One write transaction: committed when the block ends, rolled back on any exception."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield PostgresConnection(conn)
        except self._errors as exc:
            raise self._error(exc, doing) from None

    @contextmanager
    def reading(self, doing: str) -> Iterator[PostgresConnection]:
        """One read transaction (repeatable read), so what is read together is one snapshot."""
        try:
            with self._pool.connection() as conn, conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
                yield PostgresConnection(conn)
        except self._errors as exc:
            raise self._error(exc, doing) from None

    def close(self) -> None:
        self._pool.close()
