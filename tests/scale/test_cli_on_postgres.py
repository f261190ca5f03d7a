"""The command line on a PostgreSQL store, as scaling.md shows it: `aos runs`, `aos show` and
`aos replay RUN --store postgresql://...` read the shared store, and a store that cannot be
reached is one line naming it (password hidden) within seconds, for every command."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from postgres import PG_URL, fresh_schema_url, require_postgres


def aos(cwd: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AOS_HOME": str(cwd / "home")}
    env.pop("AOS_STORE", None)
    return subprocess.run(
        [sys.executable, "-m", "aos_core", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def url() -> Iterator[str]:
    require_postgres()
    made = fresh_schema_url()
    yield made
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {made.rsplit('=', 1)[1]} CASCADE")


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_runs_show_and_replay_read_a_postgresql_store_named_by_store(url: str, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    step = {"id": "pick", "skill": "json_transform", "params": {"expression": "a", "data": {"a": 1}}}
    plan.write_text(json.dumps({"goal": "on postgres", "steps": [step]}))
    ran = aos(tmp_path, "run", str(plan), "--json", "--store", url)
    assert ran.returncode == 0, ran.stderr
    run_id = json.loads(ran.stdout)["run_id"]
    listed = aos(tmp_path, "runs", "--json", "--store", url)
    assert [r["run_id"] for r in json.loads(listed.stdout)["runs"]] == [run_id]
    shown = aos(tmp_path, "show", run_id, "--store", url)
    assert shown.returncode == 0 and "on postgres" in shown.stdout, shown.stderr
    replayed = aos(tmp_path, "replay", run_id, "--store", url)
    assert replayed.returncode == 0 and "replay matched" in replayed.stdout, replayed.stderr
    assert not (tmp_path / "postgresql:").exists()  # no SQLite file made of the URL as a path


@pytest.mark.parametrize(
    "command",
    [("runs", "--json"), ("keys", "list", "--json"), ("worker",), ("serve", "--workers", "0", "--port", "0")],
    ids=["runs", "keys", "worker", "serve"],
)
def test_an_unreachable_store_is_one_line_at_once_without_its_password(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    require_postgres()
    store = f"postgresql://postgres:sekrit-pw@127.0.0.1:{_closed_port()}/aos"
    started = time.monotonic()
    failed = aos(tmp_path, *command, "--store", store, timeout=60)
    took = time.monotonic() - started
    assert failed.returncode == 2, failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith("aos: cannot reach the run store postgresql://postgres:***@127.0.0.1:"), lines[0]
    assert "refused" in lines[0] and "check --store or AOS_STORE" in lines[0]
    assert "sekrit-pw" not in failed.stderr + failed.stdout
    assert took < 8, f"{took:.1f} s to say the store is down"
    if "--json" in command:
        error = json.loads(failed.stdout)["error"]
        assert error["code"] == "STORE_ERROR" and error["exit_code"] == 2


def test_a_host_that_does_not_resolve_is_a_store_that_cannot_be_reached() -> None:
    from aos_core import StoreError
    from aos_core.runs.store import open_store

    with pytest.raises(StoreError) as refused:
        open_store("postgresql://postgres:sekrit-pw@nohost.invalid/aos")
    message = str(refused.value)
    assert message.startswith("cannot reach the run store postgresql://postgres:***@nohost.invalid/aos (open): ")
    assert "resolve host" in message and message.endswith("; check --store or AOS_STORE") and "sekrit" not in message
