"""A plan read from JSON text step by step (`steps_validated`, what `aos run PLAN` and a replay's
header use) is the plan validated whole, and a bad one fails with the same errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
import pytest
from pydantic import ValidationError
from pydantic_core import from_json

from aos_core import Plan
from aos_core.contracts.plan import PlanStep, steps_validated

from .conftest import chain_plan


def _errors(exc: ValidationError) -> list[tuple[Any, ...]]:
    return [(e["loc"], e["type"]) for e in exc.errors()]


def test_a_plan_read_step_by_step_is_the_plan_validated_whole() -> None:
    text = json.dumps(chain_plan())
    data = steps_validated(from_json(text))
    assert all(type(step) is PlanStep for step in data["steps"])  # the steps' data is gone
    plan = Plan.model_validate(data)
    assert plan == Plan.model_validate_json(text)
    assert plan.model_dump(mode="json") == Plan.model_validate_json(text).model_dump(mode="json")


@pytest.mark.parametrize(
    "broken",
    [
        lambda p: p["steps"][2].update(id="bad id!"),
        lambda p: p["steps"][1].update(extra=1),
        lambda p: (p["steps"][0].update(skill=""), p["steps"][3].pop("skill")),
        lambda p: p["steps"].append(dict(p["steps"][0])),  # an id used twice: the plan's own check
        lambda p: p.update(steps="not a list"),
    ],
)
def test_a_bad_plan_fails_with_the_errors_of_the_whole_plan(broken: Any) -> None:
    plan = chain_plan()
    broken(plan)
    text = json.dumps(plan)
    with pytest.raises(ValidationError) as whole:
        Plan.model_validate_json(text)
    with pytest.raises(ValidationError) as stepwise:
        Plan.model_validate(steps_validated(from_json(text)))
    assert _errors(stepwise.value) == _errors(whole.value)


def test_aos_run_reads_a_plan_file_step_by_step(tmp_path: Path) -> None:
    from aos_core.cli.runs import _parsed_file

    path = tmp_path / "plan.json"
    path.write_text(json.dumps(chain_plan()))
    assert _parsed_file(str(path)) == Plan.model_validate(chain_plan())
    path.write_text(json.dumps({**chain_plan(), "steps": [{"id": "x"}]}))
    assert _parsed_file(str(path)) == {**chain_plan(), "steps": [{"id": "x"}]}  # refused later, with its problems
    path.write_text("{not json")
    with pytest.raises(click.UsageError, match=r"not valid JSON: .* at line 1 column 2"):
        _parsed_file(str(path))  # the usage error of a malformed file, with its position, as before
