"""A worker SIGTERMed mid-run drains within its deadline and exits 0: a step in flight that
finishes in time is committed, and the run is handed back (queued again) so another worker goes
on from there without redoing it; a step that outlasts the deadline is interrupted, and the next
worker repeats it (idempotent) under the resume rules. (The first worker also serves its metrics:
`aos_worker_up` is 1 while it works.)"""

from __future__ import annotations

import re
import signal
import time
from typing import Any

import httpx
from cluster import Cluster, plan, step


def _wait_for_call(one: Cluster, tag_end: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not any(tag.endswith(tag_end) for _, tag, _ in one.calls()):
        assert time.monotonic() < deadline, one.logs()[-3000:]
        time.sleep(0.05)


def _running(one: Cluster, run_id: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while one.store.load_run(run_id).status != "running":
        assert time.monotonic() < deadline, one.logs()[-3000:]
        time.sleep(0.02)


def test_a_drained_worker_commits_its_step_in_flight_and_hands_the_run_back(cluster: Any) -> None:
    one: Cluster = cluster("--lease", "5", "--drain-timeout", "30")
    (first,) = one.start(1, "--metrics-port", "0")
    port = re.search(r"metrics on http://127\.0\.0\.1:(\d+)/metrics", first.log())
    assert port is not None, first.log()
    scraped = httpx.get(f"http://127.0.0.1:{port.group(1)}/metrics", timeout=10).text
    assert re.search(r"^aos_worker_up(\{[^}]*\})? 1\.0$", scraped, re.MULTILINE), scraped[:2000]
    body = plan(step("slow", "count", ms=1500), step("next", "count", after=("slow",)))
    (run_id,) = one.submit(body, 1)
    _running(one, run_id)
    assert first.stop(signal.SIGTERM) == 0
    stored = one.store.load_run(run_id)
    assert stored.status == "interrupted" and list(stored.trace.steps) == ["slow"]  # committed in the drain
    assert f"runs handed back: {run_id}" in first.log()
    one.start(1)  # another worker takes the handed-back run and goes on from there
    ended = one.wait([run_id])[run_id]
    assert ended.status == "completed"
    assert sorted(tag.split("/")[1] for _, tag, _ in one.calls()) == ["next", "slow"]  # nothing redone


def test_a_step_outlasting_the_drain_deadline_is_interrupted_and_repeated_by_the_next_worker(cluster: Any) -> None:
    one: Cluster = cluster("--lease", "5", "--drain-timeout", "0.5")
    (first,) = one.start(1)
    body = plan(step("long", "count", ms=4000), step("next", "count", after=("long",)))
    (run_id,) = one.submit(body, 1)
    _running(one, run_id)
    time.sleep(0.3)  # the step has started (it logs when it ends)
    assert first.stop(signal.SIGTERM) == 0
    stored = one.store.load_run(run_id)
    assert stored.status == "interrupted" and stored.in_flight == ["long"] and not stored.trace.steps
    assert f"runs handed back: {run_id}" in first.log()
    one.start(1)
    ended = one.wait([run_id])[run_id]
    assert ended.status == "completed" and ended.trace.steps["long"]["lost"]  # the lost attempt is on record
