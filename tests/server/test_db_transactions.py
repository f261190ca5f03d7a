"""The transactions of the server's tables and the run store are one helper each
(`aos_core/runs/transactions.py`): a write rolled back on any exception, a read that cannot
write, a read-only run store refusing a write, and each store's own wording of its errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from postgres import PG_URL, fresh_schema_url, require_postgres

from aos_core import StoreError
from aos_core.runs.postgres import PostgresRunStore
from aos_core.runs.sqlite import SQLiteRunStore
from aos_server.db import Database
from aos_server.db_postgres import PostgresDatabase


class Boom(Exception):
    pass


def _contracts(db: Any) -> int:
    with db.reading("count") as conn:
        return int(conn.execute("SELECT COUNT(*) FROM server_contracts").fetchone()[0])


def _write_then_fail(db: Any) -> None:
    with pytest.raises(Boom), db.writing("add a contract") as conn:
        conn.execute("INSERT INTO server_contracts VALUES (?, ?)", ("c1", "{}"))
        raise Boom


def test_a_server_write_that_raises_is_rolled_back_and_the_exception_passes_unchanged(tmp_path: Path) -> None:
    db = Database(tmp_path / "runs.sqlite3")
    try:
        _write_then_fail(db)
        assert _contracts(db) == 0
        with db.writing("add a contract") as conn:  # the connection is usable again
            conn.execute("INSERT INTO server_contracts VALUES (?, ?)", ("c1", "{}"))
        assert _contracts(db) == 1
    finally:
        db.close()


def test_a_server_sqlite_error_is_one_line_in_the_servers_words(tmp_path: Path) -> None:
    db = Database(tmp_path / "runs.sqlite3")
    try:
        failed = r"^run store .*runs\.sqlite3: cannot read nothing: no such table"
        with pytest.raises(StoreError, match=failed), db.reading("read nothing") as conn:
            conn.execute("SELECT * FROM no_such_table")
    finally:
        db.close()


def test_a_read_only_run_store_refuses_a_write_before_it_starts(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    try:
        store.read_only = True
        refused = r"is read-only; cannot change it; use a writable --store$"
        with pytest.raises(StoreError, match=refused), store._writing("change it"):
            pytest.fail("a read-only store began a write")
    finally:
        store.close()


@pytest.fixture
def pg_url() -> Iterator[str]:
    require_postgres()
    made = fresh_schema_url()
    yield made
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {made.rsplit('=', 1)[1]} CASCADE")


def test_a_server_postgres_write_that_raises_is_rolled_back_and_a_read_cannot_write(pg_url: str) -> None:
    db = PostgresDatabase(pg_url)
    try:
        _write_then_fail(db)
        assert _contracts(db) == 0
        refused = r"cannot sneak a write: .*read-only transaction"
        with pytest.raises(StoreError, match=refused), db.reading("sneak a write") as conn:
            conn.execute("INSERT INTO server_contracts VALUES (?, ?)", ("c2", "{}"))
        assert _contracts(db) == 0
    finally:
        db.close()


def test_only_the_run_store_says_busy_and_hints_at_the_store_option(pg_url: str) -> None:
    busy = Exception("could not serialize access due to concurrent update")
    unreachable = Exception("connection failed: Connection refused")
    server, store = PostgresDatabase(pg_url), PostgresRunStore(pg_url)
    try:
        assert str(store._error(busy, "commit")) == f"run store {store.location} is busy (commit); try again"
        assert str(server._error(busy, "commit")) == f"run store {server.location}: cannot commit: {busy}"
        assert str(store._error(unreachable, "open")).endswith(f"(open): {unreachable}; check --store or AOS_STORE")
        assert str(server._error(unreachable, "open")).endswith(f"(open): {unreachable}")
    finally:
        server.close()
        store.close()
