"""Durability: a run killed with SIGKILL at random points resumes without losing or repeating a
step, without spending more than its contract allows, and with one owner at a time.

CI runs 25 trials of the random kill (AOS_CRASH_TRIALS=500 runs more) and 4 of the kill under
`max_calls` (AOS_BUDGET_CRASH_TRIALS=100 runs more).
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
BUDGET_TRIALS = int(os.environ.get("AOS_BUDGET_CRASH_TRIALS", "4"))
STEPS = {f"s{i}" for i in range(40)}
MAX_CALLS = 10  # crash_worker.BUDGET_STEPS, and the run's max_calls


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


def executions(log: Path) -> list[str]:
    """Every real execution so far, in order (one step id per line of the worker's log)."""
    return log.read_text().split() if log.exists() else []


def wait_until(condition: Any, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the worker"
        time.sleep(0.002)


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


@pytest.mark.slow
def test_a_run_killed_under_max_calls_never_makes_more_real_calls_than_it_allows(tmp_path: Path) -> None:
    """10 steps under `max_calls=10`, SIGKILLed with calls in flight, then resumed: at most 10 calls
    really happen in all, and the run's spend counts every one of them (those lost in flight too)."""
    rng = random.Random(20261204)
    mid_run = 0
    for trial in range(BUDGET_TRIALS):
        store, log = tmp_path / f"b{trial}.sqlite3", tmp_path / f"b{trial}.log"
        process = start(store, log, "run", "--budget")
        wait_until(lambda log=log: executions(log))
        time.sleep(rng.uniform(0.0, 0.02))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        run_id, before = committed(store)
        assert run_id is not None
        mid_run += len(before) < MAX_CALLS
        after_lease()
        result = finish(start(store, log, "resume", run_id, "--budget"))
        real = executions(log)
        assert len(real) <= MAX_CALLS, (trial, Counter(real))
        assert len(real) <= result["spent"]["calls"] <= MAX_CALLS, (trial, result["spent"], Counter(real))
    assert mid_run >= 1  # the kills really landed mid-run


def test_two_processes_resuming_one_run_at_once_run_each_step_once(tmp_path: Path) -> None:
    """Two resumes started together: one owns the run, the other is refused (RunBusy); every step
    not committed before the kill then runs exactly once."""
    store, log, go = tmp_path / "r.sqlite3", tmp_path / "r.log", tmp_path / "go"
    process = start(store, log, "run")
    wait_until(lambda: len(executions(log)) >= 3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    run_id, before = committed(store)
    assert run_id is not None and len(before) < len(STEPS)
    killed_at = len(executions(log))
    after_lease()
    resumers = [start(store, log, "resume", run_id, "--slow", "--go", str(go)) for _ in range(2)]
    go.touch()
    results = [finish(p) for p in resumers]
    assert sorted("busy" in r for r in results) == [False, True], results
    done = next(r for r in results if "busy" not in r)
    assert done["status"] == "completed" and set(done["reused"]) == before
    after = Counter(executions(log)[killed_at:])
    assert set(after) == STEPS - before and set(after.values()) == {1}, after


def test_a_resume_while_the_owner_still_runs_is_refused_and_sends_nothing(tmp_path: Path) -> None:
    """A second process cannot take over a run whose owner is alive: RunBusy, and the POST-like
    step in flight is not sent again."""
    store, log = tmp_path / "r.sqlite3", tmp_path / "r.log"
    owner = start(store, log, "run", "--charge", "plain")
    wait_until(lambda: "charge" in executions(log))
    run_id, _ = committed(store)
    time.sleep(LEASE_S + 0.2)  # past one lease: only the owner's heartbeat keeps it
    refused = finish(start(store, log, "resume", run_id, "--charge", "plain"))
    owner.send_signal(signal.SIGKILL)
    owner.wait(timeout=30)
    assert "held by another process" in refused["busy"]
    assert executions(log) == ["charge"]


def test_an_owner_stopped_past_its_lease_cannot_overwrite_what_the_new_owner_committed(tmp_path: Path) -> None:
    """A process stopped (SIGSTOP) while its step runs loses its lease to a resume; when it wakes,
    its late commit is refused (it exits with the store's error) and the new owner's record stays."""
    store, log = tmp_path / "r.sqlite3", tmp_path / "r.log"
    stalled = start(store, log, "run", "--charge", "plain", "--charge-s", "0.5")
    wait_until(lambda: "charge" in executions(log))
    stalled.send_signal(signal.SIGSTOP)
    try:
        run_id, _ = committed(store)
        after_lease()
        taken = finish(start(store, log, "resume", run_id, "--charge", "plain", "--abandon", "charge"))
    finally:
        stalled.send_signal(signal.SIGCONT)
    assert stalled.stdout is not None and stalled.stderr is not None
    stalled.stdout.read()
    woke = stalled.stderr.read()
    assert stalled.wait(timeout=60) != 0 and "stopped writing it" in woke, woke[-500:]
    assert taken["outcomes"]["charge"]["error"]["code"] == "CANCELLED"
    with sqlite3.connect(store) as db:
        (record,) = db.execute("SELECT record FROM steps WHERE step_id='charge'").fetchone()
    assert json.loads(record)["outcome"]["error"]["details"]["reason"] == "abandoned_in_flight"
    assert executions(log) == ["charge"]
