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
