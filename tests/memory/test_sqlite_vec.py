"""The sqlite-vec index answers exactly what the exact search in Python answers, and the store
remembers that it has one."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from aos_core.execution.clock import VirtualClock
from aos_core.memory import HashingEmbedder, Memory, memory_from_url

pytest.importorskip("apsw", reason="the sqlite-vec extra is not installed")
pytest.importorskip("sqlite_vec", reason="the sqlite-vec extra is not installed")

WORDS = [f"word{i}" for i in range(40)]


def fill(memory: Memory, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    for i in range(count):
        text = " ".join(rng.choices(WORDS, k=5))
        memory.put(("c", f"ns{i % 3}"), f"k{i:04d}", {"text": text, "even": i % 2 == 0})


def ranking(memory: Memory, **search: Any) -> list[tuple[tuple[str, ...], str, float]]:
    return [(h.namespace, h.key, round(h.score or 0.0, 5)) for h in memory.search(**search)]


def test_the_index_ranks_like_the_exact_search(tmp_path: Path) -> None:
    """vec0 answers with the prefix and filter applied after it (and Python for a narrow prefix); the pages agree."""
    clock = VirtualClock()
    embedder = HashingEmbedder()
    plain = memory_from_url(str(tmp_path / "plain.sqlite3"), clock=clock, embedder=embedder)
    indexed = memory_from_url(f"sqlite://{tmp_path / 'vec.sqlite3'}?vector_index=sqlite-vec", clock=clock,
                              embedder=embedder)
    with plain, indexed:
        fill(plain, 2400)
        fill(indexed, 2400)
        for query in ["word1 word2", "word7", "word30 word31 word32 word33"]:
            for search in [
                {"limit": 10},
                {"limit": 5, "offset": 20},
                {"limit": 50, "namespace_prefix": ("c", "ns1")},
                {"limit": 3, "namespace_prefix": ("c", "ns1"), "filter": {"even": True}},
                {"limit": 10, "namespace_prefix": ("c",), "offset": 3},
                {"limit": 7, "filter": {"even": False}},
            ]:
                expected = ranking(plain, query=query, **search)
                assert ranking(indexed, query=query, **search) == expected, (query, search)
    with sqlite3.connect(tmp_path / "vec.sqlite3") as db:
        assert db.execute("SELECT embedder, dimensions FROM memory_vec_tables").fetchall() == [("hashing", 256)]


def test_a_store_made_with_the_index_is_opened_with_it_and_a_plain_store_gets_one(tmp_path: Path) -> None:
    clock = VirtualClock()
    with memory_from_url(str(tmp_path / "m.sqlite3"), clock=clock, embedder=HashingEmbedder()) as plain:
        plain.put(("n",), "a", "apples and pears")
        plain.put(("n",), "b", "bread and butter")
    url = f"sqlite://{tmp_path / 'm.sqlite3'}"
    with memory_from_url(url + "?vector_index=sqlite-vec", clock=clock, embedder=HashingEmbedder()) as indexed:
        assert indexed.search(("n",), query="apples", limit=1)[0].key == "a"  # backfilled
    with memory_from_url(url, clock=clock, embedder=HashingEmbedder()) as again:
        again.put(("n",), "c", "apples galore apples")
        again.delete(("n",), "a")
        assert [h.key for h in again.search(("n",), query="apples", limit=2)] == ["c", "b"]
    with sqlite3.connect(tmp_path / "m.sqlite3") as db:
        assert db.execute("SELECT value FROM memory_meta WHERE name = 'vector_index'").fetchone() == ("sqlite-vec",)


def test_past_the_index_limit_the_exact_search_answers(tmp_path: Path) -> None:
    """A page beyond vec0's k limit of 4096 still comes back complete, from the exact search."""
    clock = VirtualClock()
    url = f"sqlite://{tmp_path / 'big.sqlite3'}?vector_index=sqlite-vec"
    with memory_from_url(url, clock=clock, embedder=HashingEmbedder()) as memory:
        fill(memory, 4200)
        hits = memory.search(("c",), query="word3", limit=200, offset=4000)
        assert len(hits) == 200
        assert len(memory.search(("c",), query="word3", limit=1000, offset=3500)) == 700


def test_ties_at_the_edge_of_k_are_ordered_by_namespace_then_key(tmp_path: Path) -> None:
    """1,100 identical texts, put in reverse key order: the first page is still the smallest keys."""
    url = f"sqlite://{tmp_path / 'ties.sqlite3'}?vector_index=sqlite-vec"
    with memory_from_url(url, clock=VirtualClock(), embedder=HashingEmbedder()) as memory:
        for i in reversed(range(1100)):
            memory.put(("t",), f"k{i:04d}", "the very same words")
        assert [h.key for h in memory.search(("t",), query="same words", limit=5)] == [f"k{i:04d}" for i in range(5)]
