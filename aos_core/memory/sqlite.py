"""The SQLite memory backend: one file, WAL, FTS5 for full-text search, vectors as BLOBs.

Safe across threads (one connection behind a lock) and processes (every write is one
`BEGIN IMMEDIATE` transaction; a writer waits up to `busy_timeout` seconds for another).
Semantic search is exact, in Python, over the candidates under the namespace prefix (see
`aos_core.memory.vectors` for its cost), or in C with sqlite-vec when the store is opened with
`vector_index="sqlite-vec"` (see `sqlite_vec_index`); a store created so is marked, and is
always opened that way after. Expired items are invisible at once and deleted, up to 100 at a
time, by later writes.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from aos_core.memory.backend import MemoryRow, Scalar, VectorQuery
from aos_core.memory.errors import MemoryInputError, MemoryUnavailable
from aos_core.memory.sqlfilter import sqlite_filter
from aos_core.memory.sqlite_vec_index import VecIndex
from aos_core.memory.vectors import top_k

__all__ = ["SQLiteMemoryBackend"]

SCHEMA_VERSION = 1
PURGE_BATCH = 100
# With the sqlite-vec index, a search over at most 1/EXACT_SHARE of the embedder's vectors (a
# narrow prefix or filter) is answered by the exact search in Python (~11 us a candidate): vec0
# ranks the whole index (~0.26 us a vector) and filters after, so a 1% namespace of 100k items
# took four passes and 330 ms, against 11 ms in Python (bench/case_memory.py).
EXACT_SHARE = 25
_COLUMNS = "namespace, key, value, created_us, updated_us, expires_us"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS memory_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS memory_items (
    id INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    created_us INTEGER NOT NULL,
    updated_us INTEGER NOT NULL,
    expires_us INTEGER,
    embedder TEXT,
    vector BLOB,
    UNIQUE (namespace, key)
);
CREATE INDEX IF NOT EXISTS memory_items_expiry ON memory_items (expires_us) WHERE expires_us IS NOT NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS memory_fts USING fts5(text, tokenize = 'unicode61 remove_diacritics 0');
"""
_UPSERT = f"""
INSERT INTO memory_items ({_COLUMNS}, embedder, vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (namespace, key) DO UPDATE SET
    value = excluded.value,
    created_us = CASE WHEN memory_items.expires_us IS NOT NULL AND memory_items.expires_us <= excluded.updated_us
                      THEN excluded.created_us ELSE memory_items.created_us END,
    updated_us = excluded.updated_us,
    expires_us = excluded.expires_us,
    embedder = excluded.embedder,
    vector = excluded.vector
RETURNING id, created_us
"""
_LIVE = "(i.expires_us IS NULL OR i.expires_us > ?)"


class SQLiteMemoryBackend:
    """Memory in one SQLite file (or `:memory:`)."""

    def __init__(
        self,
        path: str | Path,
        *,
        busy_timeout: float = 30.0,
        durability: str = "normal",
        vector_index: str | None = None,
    ) -> None:
        if vector_index not in (None, "sqlite-vec"):
            raise MemoryInputError(f"vector_index is 'sqlite-vec' or unset, got {vector_index!r}")
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._vec: VecIndex | None = None
        self._busy_timeout = busy_timeout
        self._durability = durability
        self._db = self._connect(vector_index == "sqlite-vec")
        if self._vec is None and self._marked():
            self._db.close()
            self._db = self._connect(True)

    def _connect(self, with_vec: bool) -> Any:
        """A connection with the schema in place; an apsw one with sqlite-vec loaded when asked."""
        with _translated(self.path):
            if with_vec:
                db = _apsw_connection(self.path, self._busy_timeout)
                self._vec = VecIndex()
            else:
                db = sqlite3.connect(
                    self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False
                )
            db.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout * 1000)}")
            db.execute("PRAGMA journal_mode = WAL")
            db.execute(f"PRAGMA synchronous = {'FULL' if self._durability == 'full' else 'NORMAL'}")
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(
                    "INSERT OR IGNORE INTO memory_meta (name, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
                if self._vec is not None:
                    self._vec.setup(db)
                    if not self._marked(db):
                        self._vec.backfill(db)
                        db.execute("INSERT INTO memory_meta (name, value) VALUES ('vector_index', 'sqlite-vec')")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        return db

    def _marked(self, db: Any = None) -> bool:
        found = (db or self._db).execute("SELECT value FROM memory_meta WHERE name = 'vector_index'").fetchone()
        return found is not None and found[0] == "sqlite-vec"

    @contextlib.contextmanager
    def _transaction(self, *, write: bool) -> Iterator[Any]:
        with self._lock, _translated(self.path):
            self._db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

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
        with self._transaction(write=True) as db:
            self._purge(db, now)
            item_id, created = db.execute(
                _UPSERT, (namespace, key, value, now, now, expires, embedder, vector)
            ).fetchone()
            db.execute("DELETE FROM memory_fts WHERE rowid = ?", (item_id,))
            if text:
                db.execute("INSERT INTO memory_fts (rowid, text) VALUES (?, ?)", (item_id, text))
            if self._vec is not None:
                self._vec.replace(db, item_id, embedder, vector)
        return MemoryRow(namespace, key, value, created, now, expires)

    def get(self, namespace: str, key: str, *, now: int) -> MemoryRow | None:
        with _translated(self.path), self._lock:
            found = self._db.execute(
                f"SELECT {_COLUMNS} FROM memory_items i WHERE namespace = ? AND key = ? AND {_LIVE}",
                (namespace, key, now),
            ).fetchone()
        return None if found is None else MemoryRow(*found)

    def delete(self, namespace: str, key: str, *, now: int) -> bool:
        with self._transaction(write=True) as db:
            self._purge(db, now)
            gone = db.execute(
                "DELETE FROM memory_items WHERE namespace = ? AND key = ? RETURNING id, expires_us", (namespace, key)
            ).fetchone()
            if gone is None:
                return False
            db.execute("DELETE FROM memory_fts WHERE rowid = ?", (gone[0],))
            if self._vec is not None:
                self._vec.remove(db, [gone[0]])
        return gone[1] is None or gone[1] > now

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
        if prefix is not None:
            where.append("i.namespace >= ? AND i.namespace < ?")
            params += prefix
        clauses, values = sqlite_filter(filter, "i.value")
        where += clauses
        params += values
        if vector is not None:
            return self._nearest(vector, where, params, limit, offset)
        columns = ", ".join(f"i.{c.strip()}" for c in _COLUMNS.split(","))
        if terms:
            sql = (
                f"SELECT {columns}, -bm25(memory_fts) AS score FROM memory_fts JOIN memory_items i "
                f"ON i.id = memory_fts.rowid WHERE memory_fts MATCH ? AND {' AND '.join(where)} "
                "ORDER BY score DESC, i.namespace, i.key LIMIT ? OFFSET ?"
            )
            params = [" OR ".join(f'"{t}"' for t in terms), *params]
        else:
            sql = (
                f"SELECT {columns}, NULL FROM memory_items i WHERE {' AND '.join(where)} "
                "ORDER BY i.namespace, i.key LIMIT ? OFFSET ?"
            )
        with _translated(self.path), self._lock:
            found = self._db.execute(sql, (*params, limit, offset)).fetchall()
        return [(MemoryRow(*r[:6]), r[6]) for r in found]

    def _nearest(
        self, vector: VectorQuery, where: list[str], params: list[Any], limit: int, offset: int
    ) -> list[tuple[MemoryRow, float | None]]:
        with self._transaction(write=False) as db:
            share = self._vec.size(db, vector.embedder) // EXACT_SHARE if self._vec is not None else 0
            if self._vec is not None and self._candidates_exceed(db, vector.embedder, where, params, max(share, 100)):
                hits = self._vec.nearest(db, vector, where, params, limit, offset)
                if hits is not None:
                    return hits
            candidates = db.execute(
                f"SELECT i.id, i.namespace, i.key, i.vector FROM memory_items i "
                f"WHERE i.embedder = ? AND {' AND '.join(where)}",
                (vector.embedder, *params),
            )
            best = top_k(vector.vector, candidates, offset + limit)[offset:]
            marks = ", ".join("?" * len(best))
            found = db.execute(f"SELECT id, {_COLUMNS} FROM memory_items WHERE id IN ({marks})", [h for h, _ in best])
            rows = {r[0]: MemoryRow(*r[1:]) for r in found}
        return [(rows[handle], score) for handle, score in best]

    @staticmethod
    def _candidates_exceed(db: Any, embedder: str, where: list[str], params: list[Any], bound: int) -> bool:
        """Whether more than `bound` items are candidates (a bounded count: it stops at bound + 1)."""
        condition = " AND ".join(where)
        sql = f"SELECT count(*) FROM (SELECT 1 FROM memory_items i WHERE i.embedder = ? AND {condition} LIMIT ?)"
        return bool(db.execute(sql, (embedder, *params, bound + 1)).fetchone()[0] > bound)

    def list_namespaces(self, prefix: tuple[str, str] | None, *, now: int) -> list[str]:
        sql = f"SELECT DISTINCT i.namespace FROM memory_items i WHERE {_LIVE}"
        params: list[Any] = [now]
        if prefix is not None:
            sql += " AND i.namespace >= ? AND i.namespace < ?"
            params += prefix
        with _translated(self.path), self._lock:
            return [r[0] for r in self._db.execute(sql + " ORDER BY i.namespace", params)]

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _purge(self, db: Any, now: int) -> None:
        expired = [
            r[0]
            for r in db.execute(
                "SELECT id FROM memory_items WHERE expires_us <= ? ORDER BY expires_us, id LIMIT ?", (now, PURGE_BATCH)
            )
        ]
        if expired:
            marks = ", ".join("?" * len(expired))
            db.execute(f"DELETE FROM memory_fts WHERE rowid IN ({marks})", expired)
            db.execute(f"DELETE FROM memory_items WHERE id IN ({marks})", expired)
            if self._vec is not None:
                self._vec.remove(db, expired)


def _apsw_connection(path: str, busy_timeout: float) -> Any:
    try:
        import apsw
        import sqlite_vec
    except ImportError:
        raise MemoryInputError(
            f"the memory store {path} uses a sqlite-vec index: pip install 'aos-core[sqlite-vec]' (apsw and sqlite-vec)"
        ) from None
    db = apsw.Connection(path)
    db.set_busy_timeout(int(busy_timeout * 1000))
    db.enable_load_extension(True)
    sqlite_vec.load(db)
    db.enable_load_extension(False)
    return db


_BUSY = {"BusyError", "LockedError"}
_NOT_A_STORE = {"NotADBError", "CorruptError"}


@contextlib.contextmanager
def _translated(path: str) -> Iterator[None]:
    """sqlite3's (and apsw's) errors as memory errors, each with one line that says what to do."""
    try:
        yield
    except Exception as exc:
        if not (isinstance(exc, sqlite3.Error) or type(exc).__module__ == "apsw"):
            raise
        kind = type(exc).__name__
        text = str(exc)
        if kind in _BUSY or (isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)):
            raise MemoryUnavailable(
                f"the memory store {path} stayed locked by another writer past the busy timeout; retry", timeout=True
            ) from exc
        corrupt = isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError)
        if kind in _NOT_A_STORE or corrupt:
            raise MemoryInputError(f"{path} is not a memory store ({text}); point AOS_MEMORY at another file") from exc
        raise MemoryUnavailable(f"the memory store {path} failed: {text}; check the file and its folder") from exc
