"""PostgreSQL for tests: the machine's server on 127.0.0.1:5432 (trust auth), a fresh schema per use.

Outside CI, with no server reachable, tests that need it skip with the reason; with CI=true they
fail instead (a CI run must never pass by skipping them).
"""

from __future__ import annotations

import os
import socket
import uuid

import pytest

PG_URL = os.environ.get("AOS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def postgres_reachable() -> str | None:
    """None when the server answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed (pip install 'aos-core[postgresql]')"
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            pass
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except (OSError, psycopg.Error) as exc:
        return f"no PostgreSQL at {PG_URL}: {type(exc).__name__}: {exc}"
    return None


def require_postgres() -> None:
    """Skip (outside CI) or fail (in CI) when PostgreSQL is not reachable."""
    why = postgres_reachable()
    if why is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI needs PostgreSQL: {why}")
    pytest.skip(why)


def fresh_schema_url() -> str:
    """A store URL on a schema nobody uses yet (drop it with `PostgresRunStore(url).drop()`)."""
    return f"{PG_URL}?schema=t_{uuid.uuid4().hex[:12]}"
