"""The storage seam: what a memory backend implements, and what a backend provider registers.

The `Memory` facade checks every input, reads the clock, extracts text and computes vectors;
a backend only stores and finds rows. Times are integers (microseconds since the epoch) given
by the facade, so a backend never reads a clock and the same calls give the same answers.
Namespaces arrive encoded (see `aos_core.memory.inputs`): a prefix is a half-open string range.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = ["BackendProvider", "MemoryBackend", "MemoryRow", "Scalar", "VectorQuery"]

Scalar = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class MemoryRow:
    """An item as stored: encoded namespace, key, JSON text, times in microseconds."""

    namespace: str
    key: str
    value: str
    created_us: int
    updated_us: int
    expires_us: int | None


@dataclass(frozen=True, slots=True)
class VectorQuery:
    """A semantic search: rank items whose vector came from `embedder` by cosine similarity to `vector`."""

    embedder: str
    vector: bytes  # float32, little-endian


class MemoryBackend(Protocol):
    """Durable items. Every method is safe to call from several threads at once."""

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
        """Insert or replace `value` (JSON text); `text` is the words to index for full-text search.

        `created_us` is kept unless the old item had expired. Returns the stored row.
        """
        ...

    def get(self, namespace: str, key: str, *, now: int) -> MemoryRow | None:
        """The live item (not expired at `now`), or None."""
        ...

    def delete(self, namespace: str, key: str, *, now: int) -> bool:
        """Remove the item; True when a live one was there."""
        ...

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
        """Live items under `prefix` (None: all) whose value matches `filter`.

        With `vector`: those with a vector from that embedder, best cosine first. Else with
        `terms`: those whose text holds any term, most relevant first. Else all, score None.
        Ties are broken by namespace, then key (code-point order).
        """
        ...

    def list_namespaces(self, prefix: tuple[str, str] | None, *, now: int) -> list[str]:
        """Every distinct encoded namespace holding a live item under `prefix`, sorted."""
        ...

    def close(self) -> None: ...


class BackendProvider(Protocol):
    """What `aos_register_memory` registers: opens a backend for a URL of one of its schemes."""

    name: str
    schemes: tuple[str, ...]

    def open(self, url: str, options: Mapping[str, Any]) -> MemoryBackend:
        """A backend for `url`; raise `MemoryInputError` for a malformed URL, `MemoryUnavailable`
        when the store cannot be reached."""
        ...
