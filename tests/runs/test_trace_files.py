"""A trace file that is not a valid AOS trace is a `TraceError` naming the line, from Python and
from `aos replay` (exit 2, one line), never a traceback (issue 20)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aos_core import Runtime, TraceError

HEADER = {
    "kind": "run",
    "format": 2,
    "plan": {"steps": [{"id": "a", "skill": "s"}]},
    "seed": 1,
    "contract": {},
    "policy": {},
}
STEP = {"kind": "step", "id": "a", "skill": "s", "params": {}, "outcome": {"ok": True, "output": {}, "error": None}}


def lines(*records: object) -> str:
    return "".join(json.dumps(r) + "\n" for r in records)


CASES = {
    "header without a plan": (lines({**HEADER, "plan": None}), "no plan"),
    "a step without an id": (lines(HEADER, {**STEP, "id": None}), "needs a string 'id'"),
    "failed with an output": (
        lines(HEADER, {**STEP, "outcome": {"ok": False, "output": {"x": 1}, "error": {"code": "TIMEOUT"}}}),
        "needs an error and no output",
    ),
    "a seed that is not a number": (lines({**HEADER, "seed": "seven"}), "seed must be an integer"),
    "steps that are a string": (lines({**HEADER, "plan": {"steps": "a,b"}}), "no plan with a list of steps"),
    "attempts that are not a list": (lines(HEADER, {**STEP, "attempts": "many"}), "'attempts' must be a list"),
    "a line that is not an object": (lines(HEADER) + "[1, 2]\n", "a JSON object with a 'kind'"),
    "no header": (lines(STEP), "the first line must be the run header"),
    "an older format": (lines({**HEADER, "format": 1}), "older AOS"),
    "empty": ("\n\n", "empty trace"),
}


@pytest.mark.parametrize("case", CASES)
def test_a_malformed_trace_is_a_trace_error_from_python(case: str, tmp_path: Path) -> None:
    text, why = CASES[case]
    path = tmp_path / "bad.jsonl"
    path.write_text(text)
    with Runtime(entry_points=False) as runtime, pytest.raises(TraceError, match=why):
        runtime.replay(path)


def test_a_binary_file_is_a_trace_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(bytes(range(256)) * 4)
    with Runtime(entry_points=False) as runtime, pytest.raises(TraceError, match="not UTF-8"):
        runtime.replay(path)


@pytest.mark.parametrize("case", ["a step without an id", "failed with an output", "a seed that is not a number"])
def test_aos_replay_of_a_malformed_trace_exits_2_with_one_line(case: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(CASES[case][0])
    env = {**os.environ, "AOS_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "aos_core", "replay", str(path)], capture_output=True, text=True, env=env, check=False
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and CASES[case][1] in result.stderr
