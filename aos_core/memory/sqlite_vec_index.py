"""The sqlite-vec index of the SQLite backend: exact nearest neighbours in C instead of Python.

Used when the store is opened with `vector_index="sqlite-vec"` (or was created so): the
connection is an apsw one (the standard library's `sqlite3` here cannot load extensions) with
sqlite-vec loaded; `pip install 'aos-core[sqlite-vec]'`. Each embedder gets one `vec0` table
of its dimensions (cosine distance), listed in `memory_vec_tables` and kept in the same
transaction as the items. A search asks vec0 for the k nearest vectors, then keeps the live
items under the prefix that match the filter; when that leaves too few, it asks again with a
larger k, up to vec0's limit of 4096, past which it answers None and the backend falls back to
the exact search in Python. Scores are rounded as in `vectors.score`, and equal scores are
ordered by namespace, then key, so the index and the exact search give the same pages.
"""

from __future__ import annotations

from typing import Any

from aos_core.memory.backend import MemoryRow, VectorQuery
from aos_core.memory.vectors import score

__all__ = ["MAX_K", "VecIndex"]

MAX_K = 4096
_COLUMNS = "i.namespace, i.key, i.value, i.created_us, i.updated_us, i.expires_us"


class VecIndex:
    """vec0 tables per embedder, written and read inside the backend's transactions."""

    def __init__(self) -> None:
        self.tables: dict[str, tuple[str, int]] = {}

    @staticmethod
    def setup(db: Any) -> None:
        db.execute(
            "CREATE TABLE IF NOT EXISTS memory_vec_tables (embedder TEXT PRIMARY KEY, dimensions INTEGER NOT NULL, "
            "name TEXT NOT NULL UNIQUE, vectors INTEGER NOT NULL DEFAULT 0)"
        )

    def size(self, db: Any, embedder: str) -> int:
        """How many vectors the embedder's table holds (kept in memory_vec_tables: vec0 counts by scanning)."""
        found = db.execute("SELECT vectors FROM memory_vec_tables WHERE embedder = ?", (embedder,)).fetchone()
        return 0 if found is None else int(found[0])

    def load(self, db: Any) -> None:
        """Read the table list (another process may have added one)."""
        self.tables = {e: (n, d) for e, d, n in db.execute("SELECT embedder, dimensions, name FROM memory_vec_tables")}

    def backfill(self, db: Any) -> int:
        """Index every stored vector (a store that had none of this index before); returns how many."""
        count = 0
        for item_id, embedder, vector in db.execute(
            "SELECT id, embedder, vector FROM memory_items WHERE vector IS NOT NULL"
        ).fetchall():
            self._insert(db, item_id, embedder, vector)
            count += 1
        return count

    def replace(self, db: Any, item_id: int, embedder: str | None, vector: bytes | None) -> None:
        self.remove(db, [item_id])
        if embedder is not None and vector is not None:
            self._insert(db, item_id, embedder, vector)

    def remove(self, db: Any, ids: list[int]) -> None:
        self.load(db)
        marks = ", ".join("?" * len(ids))
        for name, _ in self.tables.values():
            db.execute(f"DELETE FROM {name} WHERE item_id IN ({marks})", ids)
            gone = db.execute("SELECT changes()").fetchone()[0]
            if gone:
                db.execute("UPDATE memory_vec_tables SET vectors = vectors - ? WHERE name = ?", (gone, name))

    def _insert(self, db: Any, item_id: int, embedder: str, vector: bytes) -> None:
        dimensions = len(vector) // 4
        if embedder not in self.tables:
            self.load(db)
        if embedder not in self.tables:
            name = f"memory_vec_{len(self.tables) + 1}"
            db.execute(
                f"CREATE VIRTUAL TABLE {name} USING vec0"
                f"(item_id INTEGER PRIMARY KEY, embedding float[{dimensions}] distance_metric=cosine)"
            )
            db.execute(
                "INSERT INTO memory_vec_tables (embedder, dimensions, name) VALUES (?, ?, ?)",
                (embedder, dimensions, name),
            )
            self.tables[embedder] = (name, dimensions)
        name, size = self.tables[embedder]
        if size == dimensions:  # a vector of another length is never a match (as in the exact search)
            db.execute(f"INSERT INTO {name} (item_id, embedding) VALUES (?, ?)", (item_id, vector))
            db.execute("UPDATE memory_vec_tables SET vectors = vectors + 1 WHERE name = ?", (name,))

    def nearest(
        self, db: Any, query: VectorQuery, where: list[str], params: list[Any], limit: int, offset: int
    ) -> list[tuple[MemoryRow, float | None]] | None:
        """The page of best matches, or None when vec0 cannot answer exactly (k past its limit)."""
        self.load(db)
        if query.embedder not in self.tables:
            return []
        name, dimensions = self.tables[query.embedder]
        if len(query.vector) // 4 != dimensions:
            return []
        needed = offset + limit
        k = min(max(4 * needed, 64), MAX_K)
        while True:
            found = db.execute(
                f"SELECT item_id, distance FROM {name} WHERE embedding MATCH ? AND k = ?", (query.vector, k)
            ).fetchall()
            distance = dict(found)
            matched = []
            if found:
                marks = ", ".join("?" * len(found))
                for item_id, *row in db.execute(
                    f"SELECT i.id, {_COLUMNS} FROM memory_items i WHERE i.id IN ({marks}) AND i.embedder = ? "
                    f"AND {' AND '.join(where)}",
                    [*distance, query.embedder, *params],
                ):
                    matched.append((-score(1.0 - distance[item_id]), row[0], row[1], MemoryRow(*row)))
            if len(found) < k:
                break  # every vector was seen
            last = -score(1.0 - found[-1][1])
            sure = [m for m in matched if m[0] < last]  # nothing unseen can beat or tie these
            if len(sure) >= needed:
                matched = sure
                break
            if k == MAX_K:
                return None
            k = min(4 * k, MAX_K)
        matched.sort(key=lambda m: m[:3])
        return [(row, -negative) for negative, _, _, row in matched[offset:needed]]
