"""The PostgreSQL memory backend: psycopg 3 with a connection pool, tsvector + GIN for full-text
search, and pgvector for semantic search where the `vector` extension is installed.

Install with `pip install 'aos-core[postgresql]'`; psycopg is imported when a backend opens,
never before. Namespaces and keys use the "C" collation, so order is code-point order, as on
SQLite. Values are stored as the JSON text they were put as (so they come back byte for byte)
and as jsonb for filters. Without pgvector, semantic search is exact, in Python, as on SQLite.
The URL rules are the run store's: `postgresql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?schema=NAME]`,
the tables (`memory_items`) in schema NAME (default `aos`, the run store's), created when the
store opens.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from aos_core.memory.backend import MemoryRow, Scalar, VectorQuery
from aos_core.memory.errors import MemoryInputError, MemoryUnavailable
from aos_core.memory.sqlfilter import postgres_filter
from aos_core.memory.vectors import SCORE_DIGITS, top_k, unpack

__all__ = ["PostgresMemoryBackend"]

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_COLUMNS = "namespace, key, value, created_us, updated_us, expires_us"
_LIVE = "(expires_us IS NULL OR expires_us > %s)"
_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS memory_items (
        id BIGSERIAL PRIMARY KEY,
        namespace TEXT COLLATE "C" NOT NULL,
        key TEXT COLLATE "C" NOT NULL,
        value TEXT NOT NULL,
        doc JSONB NOT NULL,
        tsv TSVECTOR NOT NULL,
        created_us BIGINT NOT NULL,
        updated_us BIGINT NOT NULL,
        expires_us BIGINT,
        embedder TEXT,
        vector BYTEA,
        UNIQUE (namespace, key)
    )""",
    # A small GIN pending list: with the default (4 MB) every search scanned the recent inserts
    # until the next vacuum, 4-5x slower after 100k puts; with fastupdate off a put cost ~1 ms.
    # (bench/case_memory.py, 128 kB: puts ~250 us, searches within 10% of a direct query.)
    "CREATE INDEX IF NOT EXISTS memory_items_tsv ON memory_items USING GIN (tsv) WITH (gin_pending_list_limit = 128)",
    "ALTER INDEX memory_items_tsv SET (fastupdate = on, gin_pending_list_limit = 128)",
    "CREATE INDEX IF NOT EXISTS memory_items_expiry ON memory_items (expires_us) WHERE expires_us IS NOT NULL",
]
_PGVECTOR = "ALTER TABLE memory_items ADD COLUMN IF NOT EXISTS embedding vector"
# Expired rows are deleted by a write, 100 at a time, at most once a second (of the memory clock)
# per backend: as a separate statement, since folding it into each write's statement doubled a
# put's planning time (prepared statements are off, see __init__).
PURGE_EVERY_US = 1_000_000
_PURGE = """
DELETE FROM memory_items WHERE id IN (
    SELECT id FROM memory_items WHERE expires_us IS NOT NULL AND expires_us <= %s
    ORDER BY expires_us LIMIT 100 FOR UPDATE SKIP LOCKED
)
"""
_UPSERT = f"""
INSERT INTO memory_items ({_COLUMNS}, doc, tsv, embedder, vector{{embedding}})
VALUES (%s, %s, %s, %s, %s, %s, %s::jsonb, to_tsvector('simple', %s), %s, %s{{embedding_value}})
ON CONFLICT (namespace, key) DO UPDATE SET
    value = excluded.value,
    doc = excluded.doc,
    tsv = excluded.tsv,
    created_us = CASE WHEN memory_items.expires_us IS NOT NULL AND memory_items.expires_us <= excluded.updated_us
                      THEN excluded.created_us ELSE memory_items.created_us END,
    updated_us = excluded.updated_us,
    expires_us = excluded.expires_us,
    embedder = excluded.embedder,
    vector = excluded.vector{{embedding_update}}
RETURNING created_us
"""


class PostgresMemoryBackend:
    """Memory in a PostgreSQL database; one pool of connections, safe across threads and processes."""

    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 4, timeout: float = 10.0) -> None:
        try:
            import psycopg
            import psycopg.conninfo
            from psycopg_pool import ConnectionPool
        except ImportError:
            raise MemoryInputError("PostgreSQL memory needs psycopg: pip install 'aos-core[postgresql]'") from None
        url, self.schema = _schema(url)
        self.where = _where(url)
        self._purged_at: int | None = None
        with self._errors():
            try:
                psycopg.conninfo.conninfo_to_dict(url)
            except psycopg.ProgrammingError as exc:
                raise MemoryInputError(f"the PostgreSQL URL is malformed: {_line(exc)}") from None
            # One direct connection first: it reports the server's own reason (refused, no such
            # database, bad password) at once, where the pool would only time out. It sets up the schema.
            with psycopg.connect(url, connect_timeout=max(1, round(timeout))) as conn:
                conn.execute("SELECT pg_advisory_xact_lock(hashtext('aos_memory_schema'))")
                conn.execute(f"CREATE SCHEMA IF NOT EXISTS {self.schema}")
                conn.execute(f"SET LOCAL search_path TO {self.schema}")
                for statement in _SCHEMA:
                    conn.execute(statement)
                found = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'").fetchone()
                self.pgvector = found is not None
                if self.pgvector:
                    conn.execute(_PGVECTOR)
            # No server-side prepared statements: a generic plan made while the table was small (a
            # sequential scan for the purge) stayed cached for the connection's life and made each put
            # scan the whole table (10 ms a put at 90k items, where autovacuum is off). Custom plans
            # cost ~0.1 ms of planning and follow the table's size. Autocommit: every operation but
            # the exact vector search is one statement, so BEGIN and COMMIT would only add round trips.
            self._pool = ConnectionPool(
                url,
                min_size=min_size,
                max_size=max_size,
                timeout=timeout,
                open=False,
                name="aos-memory",
                kwargs={"prepare_threshold": None, "autocommit": True},
                configure=self._configure,
            )
            try:
                self._pool.open(wait=True, timeout=timeout)
            except BaseException:
                self._pool.close()
                raise
        self._upsert = _UPSERT.format(
            embedding=", embedding" if self.pgvector else "",
            embedding_value=", %s::vector" if self.pgvector else "",
            embedding_update=", embedding = excluded.embedding" if self.pgvector else "",
        )

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        """psycopg's errors as memory errors; the URL's password never appears in a message."""
        import psycopg
        from psycopg_pool import PoolTimeout

        try:
            yield
        except PoolTimeout as exc:
            raise MemoryUnavailable(
                f"no connection to PostgreSQL at {self.where} within the pool timeout; check the server is up and "
                "reachable, then retry",
                timeout=True,
            ) from exc
        except psycopg.OperationalError as exc:
            raise MemoryUnavailable(
                f"PostgreSQL at {self.where} failed: {_line(exc)}; check the server, then retry"
            ) from exc
        except psycopg.ProgrammingError as exc:
            raise MemoryInputError(f"PostgreSQL at {self.where} refused the memory store: {_line(exc)}") from exc
        except psycopg.Error as exc:
            raise MemoryUnavailable(f"PostgreSQL at {self.where} failed: {_line(exc)}") from exc

    def put(
        self,
        namespace: str,
        key: str,
        value: str,
        text: str,
        *,
        now: int,
        expires: int | None,
        embedder: str | None,
        vector: bytes | None,
    ) -> MemoryRow:
        params: list[Any] = [namespace, key, value, now, now, expires, value, text, embedder, vector]
        if self.pgvector:
            params.append(_vector_text(vector) if vector is not None else None)
        with self._errors(), self._pool.connection() as conn:
            self._purge(conn, now)
            returned = conn.execute(self._upsert, params).fetchone()
        assert returned is not None  # an upsert always returns its row
        return MemoryRow(namespace, key, value, returned[0], now, expires)

    def get(self, namespace: str, key: str, *, now: int) -> MemoryRow | None:
        with self._errors(), self._pool.connection() as conn:
            found = conn.execute(
                f"SELECT {_COLUMNS} FROM memory_items WHERE namespace = %s AND key = %s AND {_LIVE}",
                (namespace, key, now),
            ).fetchone()
        return None if found is None else MemoryRow(*found)

    def delete(self, namespace: str, key: str, *, now: int) -> bool:
        with self._errors(), self._pool.connection() as conn:
            self._purge(conn, now)
            gone = conn.execute(
                "DELETE FROM memory_items WHERE namespace = %s AND key = %s RETURNING expires_us", (namespace, key)
            ).fetchone()
        return gone is not None and (gone[0] is None or gone[0] > now)

    def search(
        self,
        prefix: tuple[str, str] | None,
        *,
        terms: Sequence[str],
        vector: VectorQuery | None,
        filter: Mapping[str, Scalar],
        limit: int,
        offset: int,
        now: int,
    ) -> list[tuple[MemoryRow, float | None]]:
        where: list[str] = [_LIVE]
        params: list[Any] = [now]
        if prefix is not None and terms and vector is None:
            # Not a range the planner could AND with the GIN index: without statistics it did, and
            # read the whole (namespace, key) index for a prefix that covered the store (5 ms at 100k).
            where.append("left(namespace, %s) = %s")
            params += [len(prefix[0]), prefix[0]]
        elif prefix is not None:
            where.append("namespace >= %s AND namespace < %s")
            params += prefix
        clauses, values = postgres_filter(filter, "doc")
        where += clauses
        params += values
        condition = " AND ".join(where)
        if vector is not None:
            return self._nearest(vector, condition, params, limit, offset)
        if terms:
            sql = (
                f"SELECT {_COLUMNS}, ts_rank(tsv, q)::float8 AS score FROM memory_items, to_tsquery('simple', %s) q "
                f"WHERE tsv @@ q AND {condition} ORDER BY score DESC, namespace, key LIMIT %s OFFSET %s"
            )
            params = [" | ".join(f"'{t}'" for t in terms), *params]
        else:
            sql = (
                f"SELECT {_COLUMNS}, NULL FROM memory_items WHERE {condition} "
                "ORDER BY namespace, key LIMIT %s OFFSET %s"
            )
        with self._errors(), self._pool.connection() as conn:
            found = conn.execute(sql, (*params, limit, offset)).fetchall()
        return [(MemoryRow(*r[:6]), r[6]) for r in found]

    def _nearest(
        self, vector: VectorQuery, condition: str, params: list[Any], limit: int, offset: int
    ) -> list[tuple[MemoryRow, float | None]]:
        with self._errors(), self._pool.connection() as conn:
            if self.pgvector:
                found = conn.execute(
                    f"SELECT {_COLUMNS}, round((1 - (embedding <=> %s::vector))::numeric, {SCORE_DIGITS}) AS score "
                    f"FROM memory_items WHERE embedder = %s AND {condition} ORDER BY score DESC, namespace, key "
                    "LIMIT %s OFFSET %s",
                    (_vector_text(vector.vector), vector.embedder, *params, limit, offset),
                ).fetchall()
                return [(MemoryRow(*r[:6]), float(r[6])) for r in found]
            with conn.transaction():
                candidates = conn.execute(
                    f"SELECT id, namespace, key, vector FROM memory_items WHERE embedder = %s AND {condition}",
                    (vector.embedder, *params),
                )
                best = top_k(vector.vector, candidates, offset + limit)[offset:]
                rows = {
                    r[0]: MemoryRow(*r[1:])
                    for r in conn.execute(
                        f"SELECT id, {_COLUMNS} FROM memory_items WHERE id = ANY(%s)", ([h for h, _ in best],)
                    )
                }
        return [(rows[handle], score) for handle, score in best]

    def list_namespaces(self, prefix: tuple[str, str] | None, *, now: int) -> list[str]:
        sql = f"SELECT DISTINCT namespace FROM memory_items WHERE {_LIVE}"
        params: list[Any] = [now]
        if prefix is not None:
            sql += " AND namespace >= %s AND namespace < %s"
            params += prefix
        with self._errors(), self._pool.connection() as conn:
            return [r[0] for r in conn.execute(sql + " ORDER BY namespace", params)]

    def close(self) -> None:
        self._pool.close()

    def _configure(self, conn: Any) -> None:
        conn.execute(f"SET search_path TO {self.schema}")

    def _purge(self, conn: Any, now: int) -> None:
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY_US:
            self._purged_at = now
            conn.execute(_PURGE, (now,))


def _vector_text(blob: bytes) -> str:
    return "[" + ",".join(repr(x) for x in unpack(blob)) + "]"


def _schema(url: str) -> tuple[str, str]:
    """The URL without its `schema` parameter, and the schema (default `aos`)."""
    from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    schema = query.pop("schema", "aos")
    if not _SCHEMA_NAME.match(schema):
        raise MemoryInputError(f"schema {schema!r} in the memory URL is not a plain lower-case name")
    return urlunsplit(parts._replace(query=urlencode(query))), schema


def _where(url: str) -> str:
    """host:port/dbname of a libpq URL, without user or password, for messages."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        parts = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - a malformed URL is reported when connecting; here only a label is made
        return "(unparsable URL)"
    return f"{parts.get('host') or 'localhost'}:{parts.get('port') or 5432}/{parts.get('dbname') or ''}"


def _line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:300] or type(exc).__name__
