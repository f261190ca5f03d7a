"""Durability: a run killed with SIGKILL at random points resumes without losing or repeating a step.

CI runs 25 trials; AOS_CRASH_TRIALS=500 runs more.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

WORKER = Path(__file__).with_name("crash_worker.py")
LEASE_S = 0.6  # crash_worker.LEASE_S
TRIALS = int(os.environ.get("AOS_CRASH_TRIALS", "25"))
STEPS = {f"s{i}" for i in range(40)}


def start(store: Path, log: Path, *args: str) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, str(WORKER), str(store), str(log), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "READY", process.stderr.read() if process.stderr else ""
    return process


def finish(process: subprocess.Popen[str]) -> dict[str, Any]:
    assert process.stdout is not None and process.stderr is not None
    out = process.stdout.read()  # the same buffered reader that read READY: it may hold more already
    err = process.stderr.read()
    assert process.wait(timeout=120) == 0, err
    return json.loads(out.strip().splitlines()[-1])


def after_lease() -> None:
    """A killed worker's lease runs out (nobody renews it); only then may another process resume."""
    time.sleep(LEASE_S + 0.2)


def committed(store: Path) -> tuple[str | None, set[str]]:
    """The run's id (None if killed before it was created) and its committed steps."""
    with sqlite3.connect(store) as db:
        row = db.execute("SELECT id FROM runs").fetchone()
        steps = {r[0] for r in db.execute("SELECT step_id FROM steps")}
    return (row[0] if row else None), steps


@pytest.mark.slow
def test_sigkill_at_random_points_never_loses_or_repeats_a_committed_step(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    killed_mid_run = 0
    for trial in range(TRIALS):
        store, log = tmp_path / f"t{trial}.sqlite3", tmp_path / f"t{trial}.log"
        process = start(store, log, "run")
        time.sleep(rng.uniform(0.0, 0.25))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        run_id, before = committed(store)
        if run_id is None:  # killed before the run was recorded: nothing may have run
            assert not log.exists() or not log.read_text()
            continue
        killed_mid_run += len(before) < len(STEPS)
        for step in before:  # a dependent step only ever started after its input was committed
            index = int(step[1:])
            assert index < 4 or f"s{index - 4}" in before, (trial, step)
        after_lease()
        result = finish(start(store, log, "resume", run_id))
        assert result["status"] == "completed" and result["ok"], (trial, result)
        assert set(result["reused"]) == before
        counts = Counter(log.read_text().split())
        assert set(counts) == STEPS, trial  # nothing lost
        repeated = {step for step in before if counts[step] != 1}
        assert not repeated, (trial, repeated)  # no committed step ran again
        _, after = committed(store)
        assert after == STEPS
    assert killed_mid_run >= TRIALS // 3  # the kills really landed mid-run


@pytest.mark.parametrize(
    ("kind", "repeated"),
    [("plain", False), ("idempotent", True), ("repeat", True)],
    ids=["not-idempotent", "idempotent", "policy"],
)
def test_an_in_flight_side_effect_is_repeated_only_if_safe(tmp_path: Path, kind: str, repeated: bool) -> None:
    store, log = tmp_path / "r.sqlite3", tmp_path / "r.log"
    process = start(store, log, "run", "--charge", kind)
    deadline = time.monotonic() + 20
    while "charge" not in log.read_text() if log.exists() else True:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    run_id, before = committed(store)
    assert run_id is not None and before == set()
    from aos_core.runs.sqlite import SQLiteRunStore

    after_lease()
    killed = SQLiteRunStore(store)
    assert killed.load_run(run_id).status == "interrupted"  # recorded as running, its lease ran out
    assert killed.list_runs()[0].status == "interrupted"
    assert killed.load_run(run_id).in_flight == ["charge"]
    killed.close()
    result = finish(start(store, log, "resume", run_id, "--charge", kind))
    if repeated:
        assert result["repeated_in_flight"] == ["charge"] and result["outcomes"]["charge"]["ok"]
        assert log.read_text().split() == ["charge", "charge"]
    else:  # left for the caller to decide; the run stays resumable
        assert result["not_repeated"] == ["charge"] and result["status"] == "interrupted"
        assert "charge" not in result["outcomes"]
        assert log.read_text().split() == ["charge"]
        decided = finish(start(store, log, "resume", run_id, "--charge", kind, "--repeat", "charge"))
        assert decided["status"] == "completed" and decided["repeated_in_flight"] == ["charge"]
        assert log.read_text().split() == ["charge", "charge"]
