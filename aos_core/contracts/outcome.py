"""`StructuredOutcome`: what every execution returns, success or failure."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from aos_core.contracts.compact import share_fields_set
from aos_core.contracts.cost import Cost, CostWarning
from aos_core.contracts.errors import ErrorInfo

__all__ = ["StructuredOutcome"]


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
