"""A run's header line: its plan written step by step is the canonical JSON of the plan's data."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aos_core import Plan, Policy, ResourceContract
from aos_core.runs.service import run_header
from aos_core.runs.trace import canonical_json

from .conftest import chain_plan


def test_the_header_line_is_the_canonical_json_of_the_plans_data(runtime_factory: Any) -> None:
    plan = Plan.model_validate(chain_plan())
    header = run_header(plan, ResourceContract(max_calls=9), Policy(), 7, "wait")
    line = canonical_json(header)
    as_data = {**header, "plan": plan.model_dump(mode="json")}
    assert line == json.dumps(as_data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert Plan.model_validate(json.loads(line)["plan"]) == plan


def test_the_recorded_header_holds_the_plan(runtime_factory: Any) -> None:
    runtime = runtime_factory()
    ran = runtime.run(chain_plan())
    recorded = runtime.store.load_run(ran.run_id).trace.header["plan"]
    assert Plan.model_validate(recorded) == Plan.model_validate(chain_plan())


def test_canonical_json_refuses_what_json_refuses() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        canonical_json({"x": object()})
    with pytest.raises(TypeError, match="not JSON serializable"):
        canonical_json({"plan": Plan.model_validate(chain_plan())})  # a whole plan is not data: its steps are


@pytest.mark.parametrize("piecewise", [True, False])
def test_a_large_header_is_written_in_pieces_and_reads_back_the_same(
    runtime_factory: Any, monkeypatch: pytest.MonkeyPatch, piecewise: bool
) -> None:
    """Bound as one value, SQLite copied a header twice: +15 MB at the start of `aos run`'s
    100,000 steps, its peak (bench case 6). Over `PIECEWISE_HEADER_BYTES` it is written in pieces
    into a blob, which reads back as the same line, replays, and resumes."""
    import sqlite3

    from aos_core.runs.sqlite import SQLiteRunStore

    if piecewise:  # a chain plan's header is well under the real limit
        monkeypatch.setattr(SQLiteRunStore, "PIECEWISE_HEADER_BYTES", 100)
    plan = chain_plan()
    plan["goal"] = "caf\u00e9 \U0001f600"  # text that is longer in UTF-8 than in characters
    runtime = runtime_factory()
    ran = runtime.run(plan)
    assert ran.ok
    stored = runtime.store.load_run(ran.run_id)
    expected = canonical_json(run_header(Plan.model_validate(plan), runtime.contract, runtime.profile.policy, 42, "wait"))
    line = stored.trace.header_line()
    assert json.loads(line)["plan"] == json.loads(expected)["plan"] and isinstance(line, str)
    with sqlite3.connect(runtime.store.path) as db:
        kind = db.execute("SELECT typeof(header) FROM runs WHERE id=?", (ran.run_id,)).fetchone()[0]
    assert kind == ("blob" if piecewise else "text")
    assert runtime.replay(ran.run_id).matched
