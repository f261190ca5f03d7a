"""Memory: put, get and search latency on each backend at 10k and 100k items, beside the same
operations done directly with sqlite3 / psycopg, in the same run.

Run on its own (it is not one of run.py's cases yet; it needs `aos-core[postgresql]` and the
machine's PostgreSQL for the PostgreSQL rows, `aos-core[sqlite-vec]` for the sqlite-vec rows,
and skips them otherwise):

    .venv/bin/python bench/case_memory.py --table            # 10k and 100k items, ~6 min on 2 cores
    .venv/bin/python bench/case_memory.py --sizes 10000      # one size

The data: item i is `{"text": 12 words drawn (seeded) from 2,000, "n": i}` under
`("bench", "u{i % 100}")`, key `k{i}`; the store is filled through `Memory.put` with the hashing
embedder (so items have vectors), and the direct tables through `executemany`. Then, per round,
interleaved: 200 puts of new keys, 200 gets of existing keys, 30 full-text searches of one
word over the whole store (limit 10), and semantic searches over one namespace prefix
(`("bench", "u7")`, 1% of the items) and over the whole store. Direct variants:
- sqlite3: one table (namespace, key, value) with a UNIQUE index and an FTS5 table kept in the
  same transaction (`BEGIN IMMEDIATE`, WAL, synchronous=NORMAL), `bm25` ranking;
- psycopg: one table (namespace, key, value, tsvector) with a GIN index, `INSERT ... ON
  CONFLICT` in its own transaction, `ts_rank` ranking;
- apsw + sqlite-vec (for the `sqlite-vec` store, which is the SQLite store opened with
  `?vector_index=sqlite-vec`): a vec0 table of the same vectors, a k=10 KNN query joined to
  the items, over the whole store.
Figures are microseconds per operation (median of rounds, with min-max).
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import emit, row

from aos_core.execution.clock import SystemClock
from aos_core.memory import HashingEmbedder, memory_from_url

PG = "postgresql://postgres@127.0.0.1:5432/test"
VOCABULARY = [f"w{i:04d}" for i in range(2000)]
PUTS, GETS, SEARCHES, SEMANTIC = 200, 200, 30, 5


def items(n: int, start: int = 0) -> list[tuple[tuple[str, str], str, dict[str, Any]]]:
    rng = random.Random(start)
    return [
        (("bench", f"u{i % 100}"), f"k{i}", {"text": " ".join(rng.choices(VOCABULARY, k=12)), "n": i})
        for i in range(start, start + n)
    ]


def per_op(fn: Callable[[int], Any], count: int) -> float:
    started = time.perf_counter()
    for i in range(count):
        fn(i)
    return (time.perf_counter() - started) / count * 1e6


class RawSQLite:
    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(str(path), isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, namespace TEXT, key TEXT, value TEXT, UNIQUE (namespace, key))"
        )
        self.db.execute("CREATE VIRTUAL TABLE f USING fts5(text)")

    def load(self, data: list[Any]) -> None:
        self.db.execute("BEGIN")
        for ns, key, value in data:
            self.put(ns, key, value, transaction=False)
        self.db.execute("COMMIT")

    def put(self, ns: tuple[str, ...], key: str, value: Any, transaction: bool = True) -> None:
        if transaction:
            self.db.execute("BEGIN IMMEDIATE")
        rid = self.db.execute(
            "INSERT INTO t (namespace, key, value) VALUES (?, ?, ?) ON CONFLICT (namespace, key) "
            "DO UPDATE SET value = excluded.value RETURNING id",
            ("/".join(ns), key, json.dumps(value)),
        ).fetchone()[0]
        self.db.execute("DELETE FROM f WHERE rowid = ?", (rid,))
        self.db.execute("INSERT INTO f (rowid, text) VALUES (?, ?)", (rid, value["text"]))
        if transaction:
            self.db.execute("COMMIT")

    def get(self, ns: tuple[str, ...], key: str) -> Any:
        found = self.db.execute("SELECT value FROM t WHERE namespace = ? AND key = ?", ("/".join(ns), key)).fetchone()
        return json.loads(found[0])

    def search(self, word: str) -> list[Any]:
        return [
            json.loads(r[0])
            for r in self.db.execute(
                "SELECT t.value FROM f JOIN t ON t.id = f.rowid WHERE f MATCH ? "
                "ORDER BY bm25(f), t.namespace, t.key LIMIT 10",
                (f'"{word}"',),
            )
        ]


class RawVec(RawSQLite):
    """The direct baseline of the sqlite-vec store: apsw, the same tables, plus one vec0 table."""

    def __init__(self, path: Path) -> None:
        import apsw
        import sqlite_vec

        self.db = apsw.Connection(str(path))
        self.db.enable_load_extension(True)
        sqlite_vec.load(self.db)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, namespace TEXT, key TEXT, value TEXT, UNIQUE (namespace, key))"
        )
        self.db.execute("CREATE VIRTUAL TABLE f USING fts5(text)")
        self.db.execute(
            "CREATE VIRTUAL TABLE v USING vec0(item_id INTEGER PRIMARY KEY, embedding float[256] "
            "distance_metric=cosine)"
        )
        self.embedder = HashingEmbedder()

    def vector(self, text: str) -> bytes:
        from aos_core.memory.vectors import normalise, pack

        unit = normalise(self.embedder.embed([text])[0])
        assert unit is not None
        return pack(unit)

    def load(self, data: list[Any]) -> None:
        super().load(data)
        self.db.execute("BEGIN")
        for item_id, value in self.db.execute("SELECT id, value FROM t").fetchall():
            self.db.execute(
                "INSERT INTO v (item_id, embedding) VALUES (?, ?)", (item_id, self.vector(json.loads(value)["text"]))
            )
        self.db.execute("COMMIT")

    def semantic(self, query: str) -> list[Any]:
        knn = "SELECT item_id, distance FROM v WHERE embedding MATCH ? AND k = 10"
        return [
            json.loads(r[0])
            for r in self.db.execute(
                f"SELECT t.value FROM ({knn}) n JOIN t ON t.id = n.item_id ORDER BY n.distance, t.namespace, t.key",
                (self.vector(query),),
            )
        ]


class RawPostgres:
    def __init__(self, url: str) -> None:
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(
            'CREATE TABLE t (id BIGSERIAL PRIMARY KEY, namespace TEXT COLLATE "C", key TEXT COLLATE "C", '
            "value TEXT, tsv TSVECTOR, UNIQUE (namespace, key))"
        )
        self.conn.execute("CREATE INDEX ON t USING GIN (tsv)")

    def load(self, data: list[Any]) -> None:
        with self.conn.transaction(), self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO t (namespace, key, value, tsv) VALUES (%s, %s, %s, to_tsvector('simple', %s))",
                [("/".join(ns), key, json.dumps(value), value["text"]) for ns, key, value in data],
            )

    def put(self, ns: tuple[str, ...], key: str, value: Any) -> None:
        self.conn.execute(
            "INSERT INTO t (namespace, key, value, tsv) VALUES (%s, %s, %s, to_tsvector('simple', %s)) "
            "ON CONFLICT (namespace, key) DO UPDATE SET value = excluded.value, tsv = excluded.tsv",
            ("/".join(ns), key, json.dumps(value), value["text"]),
        )

    def get(self, ns: tuple[str, ...], key: str) -> Any:
        sql = "SELECT value FROM t WHERE namespace = %s AND key = %s"
        found = self.conn.execute(sql, ("/".join(ns), key)).fetchone()
        return json.loads(found[0])

    def search(self, word: str) -> list[Any]:
        return [
            json.loads(r[0])
            for r in self.conn.execute(
                "SELECT value, ts_rank(tsv, q) AS s FROM t, to_tsquery('simple', %s) q WHERE tsv @@ q "
                "ORDER BY s DESC, namespace, key LIMIT 10",
                (f"'{word}'",),
            )
        ]


def measure(backend: str, url: str, raw: Any, n: int, rounds: int) -> tuple[list[dict[str, Any]], list[str]]:
    clock = SystemClock()
    data = items(n)
    notes = []
    with memory_from_url(url, clock=clock, embedder=HashingEmbedder()) as embedded:
        started = time.perf_counter()
        for ns, key, value in data:
            embedded.put(ns, key, value)
        notes.append(
            f"{backend}, {n:,} items: filled through Memory.put (hashing embedder) in "
            f"{time.perf_counter() - started:.1f} s"
        )
    started = time.perf_counter()
    raw.load(data)
    took = time.perf_counter() - started
    notes.append(f"{backend}, {n:,} items: direct tables filled by executemany in {took:.1f} s")
    names = {
        "put": f"{backend} {n // 1000}k: AOS Memory.put",
        "put_embed": f"{backend} {n // 1000}k: AOS Memory.put, hashing embedder",
        "raw_put": f"{backend} {n // 1000}k: direct put",
        "get": f"{backend} {n // 1000}k: AOS Memory.get",
        "raw_get": f"{backend} {n // 1000}k: direct get",
        "search": f"{backend} {n // 1000}k: AOS Memory.search, full-text, whole store",
        "raw_search": f"{backend} {n // 1000}k: direct full-text search",
        "semantic_prefix": f"{backend} {n // 1000}k: AOS semantic search, one namespace ({n // 100:,} items)",
        "semantic_all": f"{backend} {n // 1000}k: AOS semantic search, whole store ({n:,} items)",
    }
    if isinstance(raw, RawVec):
        names["raw_semantic"] = f"{backend} {n // 1000}k: direct vec0 KNN (k=10), whole store"
    samples: dict[str, list[float]] = {k: [] for k in names}
    rng = random.Random(7)
    with (
        memory_from_url(url, clock=clock) as memory,
        memory_from_url(url, clock=clock, embedder=HashingEmbedder()) as semantic,
    ):
        for r in range(rounds):
            fresh = items(PUTS, start=n + 10 * PUTS * r)
            fresh_raw = items(PUTS, start=n + 10 * PUTS * r + PUTS)
            fresh_embed = items(PUTS, start=n + 10 * PUTS * r + 2 * PUTS)
            samples["put"].append(per_op(lambda i, f=fresh: memory.put(*f[i]), PUTS))
            samples["raw_put"].append(per_op(lambda i, f=fresh_raw: raw.put(*f[i]), PUTS))
            samples["put_embed"].append(per_op(lambda i, f=fresh_embed: semantic.put(*f[i]), PUTS))
            picks = [data[rng.randrange(n)] for _ in range(GETS)]
            samples["get"].append(per_op(lambda i, p=picks: memory.get(p[i][0], p[i][1]), GETS))
            samples["raw_get"].append(per_op(lambda i, p=picks: raw.get(p[i][0], p[i][1]), GETS))
            words = [rng.choice(VOCABULARY) for _ in range(SEARCHES)]
            samples["search"].append(per_op(lambda i, w=words: memory.search(("bench",), query=w[i]), SEARCHES))
            samples["raw_search"].append(per_op(lambda i, w=words: raw.search(w[i]), SEARCHES))
            queries = [" ".join(rng.choices(VOCABULARY, k=4)) for _ in range(SEMANTIC)]
            samples["semantic_prefix"].append(
                per_op(lambda i, q=queries: semantic.search(("bench", "u7"), query=q[i]), SEMANTIC)
            )
            samples["semantic_all"].append(per_op(lambda i, q=queries: semantic.search(("bench",), query=q[i]), 2))
            if "raw_semantic" in samples:
                samples["raw_semantic"].append(per_op(lambda i, q=queries: raw.semantic(q[i]), SEMANTIC))
    return [row(names[k], "µs/op", v, key=k) for k, v in samples.items()], notes


def postgres_url() -> tuple[str, str, Callable[[], None]] | None:
    """(the memory URL, the direct tables' URL, drop) for a fresh schema, or None without a server."""
    try:
        import psycopg
    except ImportError:
        return None
    schema = f"bench_mem_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(PG, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")  # the direct tables live here too
    except psycopg.Error:
        return None

    def drop() -> None:
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")

    return f"{PG}?schema={schema}", f"{PG}?options={quote(f'-csearch_path={schema}')}", drop


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| variant | median (µs/op) | min-max |", "|---|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['name']} | {r['median']:,.0f} | {r['min']:,.0f}-{r['max']:,.0f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--table", action="store_true", help="Print a Markdown table instead of JSON.")
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    notes: list[str] = [f"SQLite {sqlite3.sqlite_version}; Python {sys.version.split()[0]}"]
    for n in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory(prefix="aos-bench-memory-") as name:
            found, said = measure(
                "sqlite",
                f"sqlite://{Path(name) / 'memory.sqlite3'}",
                RawSQLite(Path(name) / "raw.sqlite3"),
                n,
                args.rounds,
            )
            rows += found
            notes += said
            try:
                vec = RawVec(Path(name) / "raw-vec.sqlite3")
            except ImportError:
                notes.append("sqlite-vec rows skipped: pip install 'aos-core[sqlite-vec]'")
            else:
                url = f"sqlite://{Path(name) / 'memory-vec.sqlite3'}?vector_index=sqlite-vec"
                found, said = measure("sqlite-vec", url, vec, n, args.rounds)
                rows += found
                notes += said
        pg = postgres_url()
        if pg is None:
            notes.append("PostgreSQL rows skipped: no psycopg or no server at " + PG)
            continue
        url, raw_url, drop = pg
        try:
            found, said = measure("postgresql", url, RawPostgres(raw_url), n, args.rounds)
            rows += found
            notes += said
        finally:
            drop()
    if args.table:
        print(table(rows))
        print()
        print("\n".join(f"- {note}" for note in notes))
    else:
        emit("memory", rows, notes, medians={r["key"]: statistics.median(r["samples"]) for r in rows})


if __name__ == "__main__":
    main()
