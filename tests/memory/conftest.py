"""Memory fixtures: a virtual clock, and one store per backend (SQLite file; the same with the
sqlite-vec index, through apsw; PostgreSQL schema).

PostgreSQL is the machine's server (AOS_TEST_POSTGRES, default
postgresql://postgres@127.0.0.1:5432/test). Each test gets its own schema, dropped after it.
Without psycopg or a reachable server the PostgreSQL cases skip, saying why, and without apsw
and sqlite-vec the sqlite-vec cases do, except under CI (CI set), where they fail: CI must test
every backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aos_core.execution.clock import VirtualClock
from aos_core.memory import Memory, memory_from_url

PG_URL = os.environ.get("AOS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
BACKENDS = ["sqlite", "sqlite-vec", "postgresql"]


def _unavailable(reason: str, what: str = "PostgreSQL") -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{what} tests cannot run under CI: {reason}")
    pytest.skip(f"{what} memory tests skipped: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> str:
    """The server URL, once it answered; else skip (fail under CI)."""
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg is not installed (pip install 'aos-core[postgresql]')")
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        _unavailable(f"no server at {PG_URL}: {' '.join(str(exc).split())[:200]}")
    return PG_URL


@pytest.fixture
def pg_schema_url(pg_server: str) -> Iterator[str]:
    """A URL naming a fresh schema (the store creates it), dropped after the test."""
    import psycopg

    schema = f"aos_mem_{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in pg_server else "?"
    yield f"{pg_server}{separator}schema={schema}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty store on each backend."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path / 'memory.sqlite3'}"
    if request.param == "sqlite-vec":
        try:
            import apsw  # noqa: F401
            import sqlite_vec  # noqa: F401
        except ImportError:
            _unavailable("apsw or sqlite-vec is not installed (pip install 'aos-core[sqlite-vec]')", "sqlite-vec")
        return f"sqlite://{tmp_path / 'memory.sqlite3'}?vector_index=sqlite-vec"
    return str(request.getfixturevalue("pg_schema_url"))


@pytest.fixture
def open_memory(store_url: str, clock: VirtualClock) -> Iterator[Callable[..., Memory]]:
    """Opens memories on the test's store (closed after the test); keyword arguments go to memory_from_url."""
    opened: list[Memory] = []

    def open_(**kwargs: Any) -> Memory:
        kwargs.setdefault("clock", clock)
        memory = memory_from_url(store_url, **kwargs)
        opened.append(memory)
        return memory

    yield open_
    for memory in opened:
        memory.close()


@pytest.fixture
def memory(open_memory: Callable[..., Memory]) -> Memory:
    return open_memory()
