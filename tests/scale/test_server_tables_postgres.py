"""The server's tables in PostgreSQL: created by versioned migrations (once, by whichever
process opens the store first), refused when newer than this aos-server knows, keys and
idempotency keys shared exactly between processes, and the password never in a message."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest
from postgres import PG_URL, fresh_schema_url, require_postgres

from aos_core import StoreError
from aos_server.db import open_database
from aos_server.db_postgres import SCHEMA_VERSION, PostgresDatabase
from aos_server.keys import KeyStore
from aos_server.records import RunRecords


@pytest.fixture
def url() -> Any:
    require_postgres()
    made = fresh_schema_url()
    yield made
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {made.rsplit('=', 1)[1]} CASCADE")


def _version(url: str) -> int:
    schema = url.rsplit("=", 1)[1]
    with psycopg.connect(PG_URL) as conn:
        row = conn.execute(f"SELECT value FROM {schema}.server_meta WHERE name='schema_version'").fetchone()
    return int(row[0]) if row else 0


def test_the_tables_are_migrated_once_from_an_empty_schema_and_a_newer_one_is_refused(url: str) -> None:
    opened: list[Any] = []
    threads = [threading.Thread(target=lambda: opened.append(PostgresDatabase(url))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(opened) == 4 and _version(url) == SCHEMA_VERSION
    for db in opened:
        db.close()
    schema = url.rsplit("=", 1)[1]
    with psycopg.connect(PG_URL) as conn:
        conn.execute(f"UPDATE {schema}.server_meta SET value='{SCHEMA_VERSION + 1}'")
    named = f"refused-{uuid.uuid4().hex[:12]}"  # the refused store's connections, told apart from any other
    with pytest.raises(StoreError) as refused:
        open_database(f"{url}&application_name={named}")
    assert f"newer than this aos-server knows ({SCHEMA_VERSION}); upgrade aos-server" in str(refused.value)
    assert _connections(named) == 0  # the refused store's pool was closed, not left connected


def _connections(application: str) -> int:
    """Connections to the database that say they are `application` (libpq's application_name)."""
    with psycopg.connect(PG_URL) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (application,)).fetchone()
    return int(row[0]) if row else 0


def test_keys_and_idempotency_keys_are_one_for_every_process(url: str) -> None:
    one, two = open_database(url), open_database(url)  # two processes' pools, one database
    try:
        _key, secret = KeyStore(one).create("ci", "run", None, None)
        assert KeyStore(two).verify(secret).name == "ci"  # type: ignore[union-attr]
        answers: list[tuple[str, bool]] = []
        records = [RunRecords(one), RunRecords(two)]

        def claim(i: int) -> None:
            answers.append(records[i % 2].claim_idempotency("ci", "same", "body", f"run-{i}"))

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(answers) == 8 and sum(new for _, new in answers) == 1  # one request made the run
        assert len({run_id for run_id, _ in answers}) == 1
        KeyStore(one).revoke("ci")
        assert KeyStore(two).get("ci").revoked_at is not None
    finally:
        one.close()
        two.close()


def test_a_store_it_cannot_reach_is_one_line_without_the_password() -> None:
    secret = uuid.uuid4().hex
    with pytest.raises(StoreError) as failed:
        PostgresDatabase(f"postgresql://aos:{secret}@127.0.0.1:1/aos?connect_timeout=1")
    message = str(failed.value)
    assert secret not in message and "aos:***@127.0.0.1:1" in message and "\n" not in message
