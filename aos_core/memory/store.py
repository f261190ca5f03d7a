"""`Memory`: namespaced JSON items with full-text and semantic search, over a pluggable backend.

One method per operation; every argument and every result is plain JSON data (results are
pydantic models: `model_dump(mode="json")`), and the facade keeps no state between calls but
its backend, clock and embedder. That is what lets a run wrap it per skill attempt, record
each read (what was asked, what came back) and each write, and serve recorded reads on replay.

Time comes from the clock given (a run's clock), read once per call; nothing here reads the
system clock, so the same calls on the same clock give the same items and timestamps.
"""

from __future__ import annotations

import json
import math
from typing import Any

from aos_core.contracts.errors import ErrorCode
from aos_core.contracts.protocols import Clock
from aos_core.memory import inputs
from aos_core.memory.backend import MemoryBackend, MemoryRow, VectorQuery
from aos_core.memory.embedders import Embedder
from aos_core.memory.errors import MemoryInputError, MemoryStoreError
from aos_core.memory.models import MemoryItem, SearchHit
from aos_core.memory.vectors import normalise, pack

__all__ = ["DEFAULT_MAX_VALUE_BYTES", "Memory"]

DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024


class Memory:
    """The memory store: `put`, `get`, `delete`, `search`, `list_namespaces`.

    Bad input raises `MemoryInputError` (code INVALID_INPUT); a store that cannot answer raises
    `MemoryUnavailable` (TRANSIENT). Both are `SkillError`s, so a skill that lets one escape
    fails with that code. Safe to share between threads. Close it (or use `with`) when done.
    """

    def __init__(
        self,
        backend: MemoryBackend,
        *,
        clock: Clock,
        embedder: Embedder | None = None,
        max_value_bytes: int = DEFAULT_MAX_VALUE_BYTES,
    ) -> None:
        self.backend = backend
        self.clock = clock
        self.embedder = embedder
        self.max_value_bytes = max_value_bytes

    def put(self, namespace: Any, key: Any, value: Any, ttl: float | None = None) -> MemoryItem:
        """Store `value` (any JSON value) under `namespace` and `key`, replacing what was there.

        `ttl` (seconds): after it the item is invisible, and it is purged lazily. Returns the
        stored item with its timestamps.
        """
        labels, key = inputs.check_namespace(namespace), inputs.check_key(key)
        text = inputs.dump_value(value, self.max_value_bytes)
        lifetime = inputs.ttl_us(ttl)
        now = self._now()
        words = inputs.index_text(value)
        vector = self._embed(inputs.value_text(value)[: inputs.MAX_INDEXED_CHARS]) if self.embedder and words else None
        row = self.backend.put(
            inputs.encode_namespace(labels),
            key,
            text,
            words,
            now=now,
            expires=None if lifetime is None else now + lifetime,
            embedder=self.embedder.name if vector is not None and self.embedder is not None else None,
            vector=vector,
        )
        return _item(row)

    def get(self, namespace: Any, key: Any) -> MemoryItem | None:
        """The item, or None when there is none (or it expired)."""
        labels, key = inputs.check_namespace(namespace), inputs.check_key(key)
        row = self.backend.get(inputs.encode_namespace(labels), key, now=self._now())
        return None if row is None else _item(row)

    def delete(self, namespace: Any, key: Any) -> bool:
        """Remove the item; True when there was one (an expired item counts as none)."""
        labels, key = inputs.check_namespace(namespace), inputs.check_key(key)
        return self.backend.delete(inputs.encode_namespace(labels), key, now=self._now())

    def search(
        self,
        namespace_prefix: Any = (),
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[SearchHit]:
        """Items under `namespace_prefix` (() for all) whose value matches `filter`, best first.

        `filter`: `{field: scalar}`, each top-level field of an object value equal to it.
        `query`: plain words. With an embedder, items are ranked by cosine similarity of their
        text to the query (only items put while that embedder was set have a vector); without
        one, items holding any of the words are ranked by full-text relevance. Without a query,
        items come in namespace, key order and `score` is None. Ties are broken by namespace,
        then key, so the order is the same on every call.
        """
        prefix = inputs.check_prefix(namespace_prefix)
        checked = inputs.check_filter(filter)
        limit, offset = inputs.check_page(limit, offset)
        terms = inputs.query_terms(query) if query is not None else []
        vector = None
        if query is not None and self.embedder is not None:
            packed = self._embed(query) if query.strip() else None
            if packed is None:
                return []
            vector = VectorQuery(self.embedder.name, packed)
        elif query is not None and not terms:
            return []
        rows = self.backend.search(
            inputs.prefix_range(prefix),
            terms=terms,
            vector=vector,
            filter=checked,
            limit=limit,
            offset=offset,
            now=self._now(),
        )
        return [_hit(row, score) for row, score in rows]

    def list_namespaces(
        self, prefix: Any = None, max_depth: int | None = None, limit: int = 100, offset: int = 0
    ) -> list[tuple[str, ...]]:
        """Namespaces holding at least one live item, under `prefix`, sorted.

        With `max_depth`, each is cut to its first `max_depth` labels (duplicates dropped).
        """
        labels = inputs.check_prefix(prefix)
        if max_depth is not None and (not isinstance(max_depth, int) or isinstance(max_depth, bool) or max_depth < 1):
            raise MemoryInputError(f"max_depth must be an integer >= 1 or None, got {max_depth!r}")
        limit, offset = inputs.check_page(limit, offset)
        found: dict[tuple[str, ...], None] = {}
        for encoded in self.backend.list_namespaces(inputs.prefix_range(labels), now=self._now()):
            namespace = inputs.decode_namespace(encoded)
            found[namespace[:max_depth] if max_depth is not None else namespace] = None
        return list(found)[offset : offset + limit]

    def close(self) -> None:
        self.backend.close()

    def __enter__(self) -> Memory:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _now(self) -> int:
        return inputs.to_us(self.clock.now())

    def _embed(self, text: str) -> bytes | None:
        embedder = self.embedder
        assert embedder is not None
        vectors = embedder.embed([text])
        vector = list(vectors[0]) if len(vectors) == 1 else None
        if vector is None or len(vector) != embedder.dimensions or not all(math.isfinite(x) for x in vector):
            raise MemoryStoreError(
                ErrorCode.SKILL_CRASHED,
                f"embedder {embedder.name!r} did not return one vector of {embedder.dimensions} finite floats "
                "for one text; fix the embedder",
            )
        unit = normalise(vector)
        return None if unit is None else pack(unit)


def _fields(row: MemoryRow) -> dict[str, Any]:
    return {
        "namespace": inputs.decode_namespace(row.namespace),
        "key": row.key,
        "value": json.loads(row.value),
        "created_at": inputs.from_us(row.created_us),
        "updated_at": inputs.from_us(row.updated_us),
        "expires_at": None if row.expires_us is None else inputs.from_us(row.expires_us),
    }


def _item(row: MemoryRow) -> MemoryItem:
    return MemoryItem(**_fields(row))


def _hit(row: MemoryRow, score: float | None) -> SearchHit:
    return SearchHit(**_fields(row), score=score)
