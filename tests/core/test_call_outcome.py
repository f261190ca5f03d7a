"""`call_outcome`, how the pipeline builds an outcome: the same instance validation builds, and
the same refusals for fields of the wrong type or out of bounds."""

from __future__ import annotations

from typing import Any

import pytest

from aos_core.contracts.cost import Cost
from aos_core.contracts.errors import ErrorCode, make_error
from aos_core.contracts.outcome import StructuredOutcome, call_outcome

GOOD: dict[str, Any] = {
    "output": {"x": 1},
    "error": None,
    "skill": "echo",
    "skill_version": "1.0.0",
    "cost": Cost(calls=1),
    "duration_ms": 2,
    "attempts": 1,
    "trace_id": "t",
    "step_id": "exec-1",
    "cost_warning": None,
}


@pytest.mark.parametrize("error", [None, make_error(ErrorCode.TIMEOUT, "late")])
def test_call_outcome_equals_the_validated_outcome(error: Any) -> None:
    fields = {**GOOD, "error": error}
    built = call_outcome(**fields)
    validated = StructuredOutcome(ok=error is None, **{**fields, "output": None if error else fields["output"]})
    assert built == validated
    assert built.model_dump() == validated.model_dump() and type(built.duration_ms) is float
    assert built.__pydantic_fields_set__ == set(StructuredOutcome.model_fields)
    with pytest.raises(ValueError):
        built.ok = False  # type: ignore[misc]  # frozen


@pytest.mark.parametrize(
    "bad",
    [
        {"duration_ms": -1.0},
        {"attempts": -1},
        {"attempts": 1.0},
        {"skill": None},
        {"skill_version": 1},
        {"cost": {"calls": 1}},
        {"error": "failed"},
        {"trace_id": 7},
        {"step_id": 7},
        {"cost_warning": "overrun"},
    ],
)
def test_call_outcome_refuses_what_validation_refuses(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        call_outcome(**{**GOOD, **bad})
