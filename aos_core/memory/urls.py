"""Choosing a memory store by URL, like the run store.

    AOS_MEMORY unset           $AOS_HOME/memory.sqlite3 (beside the run store)
    PATH, or a directory       an SQLite file (a directory gets memory.sqlite3 inside)
    sqlite://PATH              an SQLite file: sqlite:///abs/path, sqlite://rel/path, sqlite://:memory:
    postgresql://...[?schema=NAME]   PostgreSQL (pip install 'aos-core[postgresql]'); postgres:// too

These are the run store's rules (`--store`, `AOS_STORE`), so one URL names both stores.

A plugin adds a scheme with `aos_register_memory(register)`; pass the loaded providers as
`providers` (a scheme it registers replaces the built-in one).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aos_core.memory.errors import MemoryInputError

if TYPE_CHECKING:  # the providers register without the store (`aos skills` loads core-memory: ~3 ms)
    from aos_core.contracts.protocols import Clock
    from aos_core.memory.backend import BackendProvider, MemoryBackend
    from aos_core.memory.embedders import Embedder
    from aos_core.memory.store import Memory

__all__ = [
    "PostgresProvider",
    "SQLiteProvider",
    "builtin_providers",
    "default_memory_url",
    "embedder_from_name",
    "memory_from_url",
    "open_backend",
]


def default_memory_url() -> str:
    """`AOS_MEMORY`, else `$AOS_HOME/memory.sqlite3` (AOS_HOME defaults to the platform's app dir)."""
    url = os.environ.get("AOS_MEMORY")
    if url:
        return url
    home = os.environ.get("AOS_HOME")
    if not home:
        import click

        home = click.get_app_dir("aos")
    return str(Path(home) / "memory.sqlite3")


class SQLiteProvider:
    """`sqlite://PATH` and plain paths. Options (also as URL query parameters, `?vector_index=sqlite-vec`):
    `busy_timeout` (seconds, default 30), `durability` (`normal` or `full`), `vector_index`."""

    name: str = "sqlite"
    schemes: tuple[str, ...] = ("sqlite",)

    def open(self, url: str, options: Mapping[str, Any]) -> MemoryBackend:
        from aos_core.memory.sqlite import SQLiteMemoryBackend

        options = dict(options)
        if "?" in url:
            url, query = url.split("?", 1)
            options.update(_sqlite_query(url, query))
        path = url.removeprefix("sqlite://")
        if not path:
            raise MemoryInputError(f"{url!r} names no file; give sqlite:///ABSOLUTE/PATH or sqlite://RELATIVE/PATH")
        if path != ":memory:" and (Path(path).is_dir() or path.endswith(("/", os.sep))):
            path = str(Path(path) / "memory.sqlite3")
        return SQLiteMemoryBackend(path, **options)


def _sqlite_query(url: str, query: str) -> dict[str, Any]:
    from urllib.parse import parse_qsl

    options: dict[str, Any] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "busy_timeout":
            try:
                options[name] = float(value)
            except ValueError:
                raise MemoryInputError(f"{url}: busy_timeout is seconds, got {value!r}") from None
        elif name in ("durability", "vector_index"):
            options[name] = value
        else:
            raise MemoryInputError(f"{url}: unknown option {name!r} (busy_timeout, durability, vector_index)")
    return options


class PostgresProvider:
    """`postgresql://user@host:port/db[?schema=NAME]` (a libpq URL; the tables in schema NAME, default `aos`).
    Options: `min_size`, `max_size` (the connection pool), `timeout` (seconds to get a connection)."""

    name: str = "postgresql"
    schemes: tuple[str, ...] = ("postgresql", "postgres")

    def open(self, url: str, options: Mapping[str, Any]) -> MemoryBackend:
        from aos_core.memory.postgres import PostgresMemoryBackend

        return PostgresMemoryBackend(url, **dict(options))


def builtin_providers() -> list[BackendProvider]:
    return [SQLiteProvider(), PostgresProvider()]


def _by_scheme(providers: Sequence[BackendProvider] | Mapping[str, BackendProvider] | None) -> dict[str, Any]:
    table: dict[str, Any] = {s: p for p in builtin_providers() for s in p.schemes}
    if isinstance(providers, Mapping):
        table.update(providers)
    elif providers is not None:
        table.update({s: p for p in providers for s in p.schemes})
    return table


def open_backend(
    url: str,
    *,
    providers: Sequence[BackendProvider] | Mapping[str, BackendProvider] | None = None,
    options: Mapping[str, Any] | None = None,
) -> MemoryBackend:
    """The backend for `url`: its scheme's provider, SQLite for a plain path."""
    if not isinstance(url, str) or not url.strip():
        raise MemoryInputError(f"the memory URL must be a non-empty string, got {url!r}")
    table = _by_scheme(providers)
    scheme = url.split("://", 1)[0].lower() if "://" in url else "sqlite"
    provider = table.get(scheme)
    if provider is None:
        known = ", ".join(f"{s}://" for s in sorted(table))
        raise MemoryInputError(f"no memory backend for {scheme}:// (known: {known}); install the plugin that adds it")
    backend: MemoryBackend = provider.open(url, dict(options or {}))
    return backend


def embedder_from_name(name: str, embedders: Sequence[Embedder] | Mapping[str, Embedder] | None = None) -> Embedder:
    """A built-in embedder (`hashing`, `all-minilm-l6-v2`) or one a plugin registered, by name."""
    from aos_core.memory.embedders import builtin_embedders

    table: dict[str, Embedder] = {e.name: e for e in builtin_embedders()}
    if isinstance(embedders, Mapping):
        table.update(embedders)
    elif embedders is not None:
        table.update({e.name: e for e in embedders})
    found = table.get(name)
    if found is None:
        raise MemoryInputError(f"no embedder {name!r} (known: {', '.join(sorted(table))})")
    return found


def memory_from_url(
    url: str | None = None,
    *,
    clock: Clock,
    embedder: Embedder | None = None,
    providers: Sequence[BackendProvider] | Mapping[str, BackendProvider] | None = None,
    options: Mapping[str, Any] | None = None,
    max_value_bytes: int | None = None,
) -> Memory:
    """A `Memory` on the store at `url` (default: `default_memory_url()`), reading time from `clock`."""
    from aos_core.memory.store import Memory

    backend = open_backend(url or default_memory_url(), providers=providers, options=options)
    if max_value_bytes is None:
        return Memory(backend, clock=clock, embedder=embedder)
    return Memory(backend, clock=clock, embedder=embedder, max_value_bytes=max_value_bytes)
