"""The command line on a PostgreSQL store, as scaling.md shows it: `aos runs`, `aos show` and
`aos replay RUN --store postgresql://...` read the shared store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
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
