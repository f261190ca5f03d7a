"""`aos worker` logs as operations.md says a server does (`configure_logging()` at start): JSON
Lines on a stderr that is not a terminal, every line of a step with its run and step ids, and
with `AOS_LOGS=1` one `step_outcome` event per step."""

from __future__ import annotations

import json
import signal
from typing import Any

import pytest
from cluster import Cluster, plan, step


def test_a_worker_writes_json_lines_with_the_run_and_step_of_each_outcome(
    cluster: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AOS_LOGS", "1")
    one: Cluster = cluster("--lease", "5")
    (worker,) = one.start(1)
    (run_id,) = one.submit(plan(step("first", "count")), 1)
    assert one.wait([run_id])[run_id].status == "completed"
    assert worker.stop(signal.SIGTERM) == 0
    lines = [json.loads(line) for line in worker.log().splitlines()]  # every line JSON, none plain text
    assert {"time", "level", "logger", "message"} <= set(lines[0])
    (outcome,) = [line for line in lines if line.get("event") == "step_outcome"]
    assert outcome["run_id"] == run_id and outcome["step_id"] == "first" and outcome["ok"] is True
    assert any(line["logger"] == "aos.worker" and line["message"].startswith("ready: ") for line in lines)
