"""Plans: ordered or DAG steps whose parameters may reference earlier steps' outputs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from aos_core.contracts.errors import ErrorCode, ErrorInfo
from aos_core.contracts.names import STEP_ID_PATTERN
from aos_core.contracts.plan_steps import PlanSteps, StepsBuilder, StepsSchema, ValidatedSteps, step_ids
from aos_core.contracts.text import non_unicode

__all__ = ["Plan", "PlanProblem", "PlanResult", "PlanStep", "PlanSteps", "STEP_ID_PATTERN", "steps_validated"]


class PlanStep(BaseModel):
    """One call: `params` may hold `${steps.ID.output...}` and `${secrets.NAME}` references."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str = Field(pattern=STEP_ID_PATTERN)
    skill: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    depends_on: tuple[str, ...] = ()


class Plan(BaseModel):
    """`{"version": 1, "goal": ..., "steps": [...]}`; step ids are unique."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    version: Literal[1] = 1
    goal: str = ""
    # a sequence of `PlanStep`, each made when it is read from a compact row (plan_steps.py); it
    # validates, dumps and has the JSON schema of a `tuple[PlanStep, ...]` of at least one step
    steps: Annotated[Sequence[PlanStep], StepsSchema(lambda: PlanStep)]
    _graph: Any = PrivateAttr(default=None)  # the planning layer's analysis, computed once per plan

    def __eq__(self, other: object) -> bool:
        """Plans are equal when their fields are; the cached analysis does not count."""
        if not isinstance(other, Plan):
            return NotImplemented
        return (self.version, self.goal, self.steps) == (other.version, other.goal, other.steps)

    __hash__ = BaseModel.__hash__

    @model_validator(mode="after")
    def _checked(self) -> Plan:
        """Step ids are unique; every string is Unicode text (one that is not would break where
        the run header is written, contracts/text.py)."""
        seen: set[str] = set()
        for step_id in step_ids(self.steps):
            if step_id in seen:
                raise ValueError(f"step id {step_id!r} is used twice")
            seen.add(step_id)
        steps = self.steps
        where = non_unicode(self.goal, "goal") or (
            steps.non_unicode()
            if isinstance(steps, PlanSteps)
            else non_unicode([step.model_dump() for step in steps], "steps")
        )
        if where is not None:
            raise ValueError(
                f"{where} holds a lone surrogate (a code point in U+D800-U+DFFF, such as the escape "
                "\\ud800 alone): a plan's strings must be Unicode text"
            )
        return self


class PlanProblem(BaseModel):
    """One thing wrong with a plan, found without executing it."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    step_id: str | None = None
    code: ErrorCode
    message: str
    field: str | None = Field(default=None, description="The parameter concerned, as a dotted path.")


class PlanResult(BaseModel):
    """What planning returned: a validated plan, or the error and the problems found."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    ok: bool
    planner: str
    plan: Plan | None = None
    error: ErrorInfo | None = None
    problems: tuple[PlanProblem, ...] = ()


def steps_validated(plan: Any) -> Any:
    """A plan as JSON data with its steps replaced by their `PlanSteps`, each step validated as a
    `PlanStep` one at a time and kept as its compact row, its data dropped as its row is made: for
    `Plan.model_validate` to take them as they are. Validating the whole JSON text at once
    (`Plan.model_validate_json`) held pydantic-core's parsed document beside the models: a
    100,000-step plan peaked at 125 MiB over the process, 80 this way (bench case 6). At the first
    step that is not valid the steps before it are left as models and the rest as data:
    `Plan.model_validate` then names every problem with its place in the plan, as before."""
    steps = plan.get("steps") if isinstance(plan, dict) else None
    if isinstance(steps, list) and steps:
        built = StepsBuilder(PlanStep)
        try:
            for i, step in enumerate(steps):
                built.add(PlanStep.model_validate(step))
                steps[i] = None
        except ValidationError:
            steps[: len(built.ids)] = built.steps()
            return plan
        plan["steps"] = built.done(ValidatedSteps)
    return plan
