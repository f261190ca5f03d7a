"""`StructuredOutcome`: what every execution returns, success or failure."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aos_core.contracts.compact import share_fields_set
from aos_core.contracts.cost import Cost, CostWarning
from aos_core.contracts.errors import ErrorInfo

__all__ = ["StructuredOutcome", "call_outcome"]


class StructuredOutcome(BaseModel):
    """The result of one execution. `ok` is true exactly when `error` is None."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    ok: bool
    output: Any = Field(default=None, description="The skill's output as JSON data, when ok.")
    error: ErrorInfo | None = None
    skill: str
    skill_version: str = ""
    cost: Cost = Field(default_factory=Cost)
    duration_ms: float = Field(default=0.0, ge=0)
    attempts: int = Field(default=0, ge=0)
    trace_id: str | None = None
    step_id: str | None = None
    cost_warning: CostWarning | None = Field(
        default=None,
        description="Set when the call's actual cost overran its reserved worst case, or could not be priced.",
    )

    @model_validator(mode="after")
    def _ok_matches_error(self) -> StructuredOutcome:
        if self.ok == (self.error is not None):
            raise ValueError("ok must be true exactly when error is None")
        share_fields_set(self)  # a run keeps one outcome per step (compact.py)
        return self


# one set of field names shared by every outcome `call_outcome` builds (see compact.py)
_EVERY_FIELD: set[str] = set(StructuredOutcome.model_fields)
_set = object.__setattr__


def call_outcome(
    output: Any,
    error: ErrorInfo | None,
    skill: str,
    skill_version: str,
    cost: Cost,
    duration_ms: float,
    attempts: int,
    trace_id: str | None,
    step_id: str | None,
    cost_warning: CostWarning | None,
) -> StructuredOutcome:
    """The outcome of one call, as the pipeline builds it: `ok` is `error is None` and `output`
    is kept only when ok, so the model's invariant holds by construction; every other field is
    checked here against its declared type and bounds (`ValueError` if one is off), the checks
    validation would make of what the pipeline passes, without pydantic's machinery around them
    (~0.7 against ~1.7 µs for `__pydantic_validator__.validate_python` of the same dict, and
    ~4.2 for `model_construct`, timeit on the bench's echo outcome)."""
    if not (
        type(skill) is str
        and type(skill_version) is str
        and isinstance(cost, Cost)
        and (error is None or isinstance(error, ErrorInfo))
        and (cost_warning is None or isinstance(cost_warning, CostWarning))
        and (trace_id is None or type(trace_id) is str)
        and (step_id is None or type(step_id) is str)
        and type(attempts) is int
        and attempts >= 0
        and duration_ms >= 0  # a float, or an int made one below (as validation would)
    ):
        raise ValueError(f"an outcome of {skill!r} with a field of the wrong type or out of bounds")
    outcome = StructuredOutcome.__new__(StructuredOutcome)
    _set(
        outcome,
        "__dict__",
        {
            "ok": error is None,
            "output": output if error is None else None,
            "error": error,
            "skill": skill,
            "skill_version": skill_version,
            "cost": cost,
            "duration_ms": duration_ms if type(duration_ms) is float else float(duration_ms),
            "attempts": attempts,
            "trace_id": trace_id,
            "step_id": step_id,
            "cost_warning": cost_warning,
        },
    )
    _set(outcome, "__pydantic_fields_set__", _EVERY_FIELD)
    _set(outcome, "__pydantic_extra__", None)
    _set(outcome, "__pydantic_private__", None)
    return outcome
