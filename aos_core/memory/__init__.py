"""Memory: namespaced JSON items that skills, planners and runs keep between calls.

`memory_from_url(url, clock=...)` opens a `Memory` on SQLite (the default, a file under
AOS_HOME) or PostgreSQL; `Memory` has `put`, `get`, `delete`, `search` and
`list_namespaces`. Names load on first use, so importing this package (as plugin discovery
does) imports neither sqlite3 nor a database driver. See docs/memory.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aos_core._lazy import from_modules

_EXPORTS = {
    "BackendProvider": "aos_core.memory.backend",
    "Embedder": "aos_core.memory.embedders",
    "EmbedderCost": "aos_core.memory.embedders",
    "HashingEmbedder": "aos_core.memory.embedders",
    "Memory": "aos_core.memory.store",
    "MemoryBackend": "aos_core.memory.backend",
    "MemoryRow": "aos_core.memory.backend",
    "VectorQuery": "aos_core.memory.backend",
    "MemoryInputError": "aos_core.memory.errors",
    "MemoryItem": "aos_core.memory.models",
    "MemoryStoreError": "aos_core.memory.errors",
    "MemoryUnavailable": "aos_core.memory.errors",
    "MiniLMEmbedder": "aos_core.memory.embedders",
    "SearchHit": "aos_core.memory.models",
    "default_memory_url": "aos_core.memory.urls",
    "embedder_from_name": "aos_core.memory.urls",
    "memory_from_url": "aos_core.memory.urls",
}

__all__ = [
    "BackendProvider",
    "Embedder",
    "EmbedderCost",
    "HashingEmbedder",
    "Memory",
    "MemoryBackend",
    "MemoryInputError",
    "MemoryItem",
    "MemoryRow",
    "MemoryStoreError",
    "MemoryUnavailable",
    "MiniLMEmbedder",
    "SearchHit",
    "VectorQuery",
    "default_memory_url",
    "embedder_from_name",
    "memory_from_url",
]

if TYPE_CHECKING:
    from aos_core.memory.backend import BackendProvider, MemoryBackend, MemoryRow, VectorQuery
    from aos_core.memory.embedders import Embedder, EmbedderCost, HashingEmbedder, MiniLMEmbedder
    from aos_core.memory.errors import MemoryInputError, MemoryStoreError, MemoryUnavailable
    from aos_core.memory.models import MemoryItem, SearchHit
    from aos_core.memory.store import Memory
    from aos_core.memory.urls import default_memory_url, embedder_from_name, memory_from_url


__getattr__ = from_modules(__name__, _EXPORTS)
