"""The API's request and response bodies (the shapes in docs/openapi.json). The core's own
models (`Plan`, `ResourceContract`, `StructuredOutcome`, `RunSummary`...) travel unchanged."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aos_core import (
    AgentProfile,
    CatalogEntry,
    Cost,
    ErrorInfo,
    Plan,
    PluginReport,
    ResourceContract,
    RunSummary,
    SkillMetadata,
    StructuredOutcome,
)
from aos_server.keys import NAME_PATTERN, ApiKey, Scope

__all__ = [
    "ApprovalView",
    "BudgetView",
    "CancelView",
    "DecisionRequest",
    "ExecuteRequest",
    "GoalSubmission",
    "KeyCreated",
    "KeyRequest",
    "KeysView",
    "PlanRequestBody",
    "PlanSubmission",
    "Readiness",
    "ResumeRequest",
    "RunStatus",
    "RunAccepted",
    "RunList",
    "RunView",
    "SimulateRequest",
    "StepView",
    "SubmitRequest",
]

_STRICT = ConfigDict(extra="forbid", frozen=True)

# The statuses of `aos_core.RunSummary.status`.
RunStatus = Literal["queued", "running", "waiting_approval", "interrupted", "cancelled", "completed", "failed"]


class _RunOptions(BaseModel):
    model_config = _STRICT

    contract: ResourceContract | None = Field(default=None, description="The run's own budget.")
    profile: AgentProfile | None = Field(
        default=None,
        description="Narrows the server's profile: skills, approvals needed, retries, timeouts. Only an admin "
        "key may widen the network policy.",
    )
    approve: tuple[str, ...] = Field(default=(), description="Skills approved in advance ('all': every one).")


class PlanSubmission(_RunOptions):
    """A run of this plan."""

    plan: Plan


class GoalSubmission(_RunOptions):
    """A run of the plan a planner makes for this goal, now."""

    goal: str = Field(min_length=1, max_length=10_000)
    planner: str | None = Field(default=None, description="Default: the profile's planner.")


SubmitRequest = PlanSubmission | GoalSubmission


class RunAccepted(BaseModel):
    model_config = _STRICT

    run_id: str
    status: RunStatus


class RunList(BaseModel):
    model_config = _STRICT

    runs: list[RunSummary]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Pass as offset for the next page; null on the last one.")


class StepView(BaseModel):
    model_config = _STRICT

    id: str
    skill: str
    state: Literal["pending", "in_flight", "waiting_approval", "committed"]
    ok: bool | None = None
    outcome: StructuredOutcome | None = None


class ApprovalView(BaseModel):
    model_config = _STRICT

    step_id: str
    skill: str | None = None
    side_effects: str | None = None
    params: Any = None
    decision: Literal["approve", "deny"] | None = None
    decided_by: str | None = None
    decided_at: str | None = None


class RunView(BaseModel):
    """One run: its status, every step and what it spent so far."""

    model_config = _STRICT

    run_id: str
    status: RunStatus
    goal: str
    submitted_by: str | None = Field(description="The key that submitted it; null for a run started with aos run.")
    steps: list[StepView]
    spent: Cost
    failed_step: str | None = None
    in_flight: list[str] = Field(
        default_factory=list, description="Steps sent and not committed yet (of a stopped run: when it stopped)."
    )
    approvals: list[ApprovalView] = Field(default_factory=list)


class CancelView(BaseModel):
    model_config = _STRICT

    run_id: str
    status: RunStatus = Field(description="running: its worker stops it within about a second.")


class ResumeRequest(BaseModel):
    model_config = _STRICT

    repeat_in_flight: tuple[str, ...] = Field(default=(), description="Steps in flight to run again ('all').")
    abandon_in_flight: tuple[str, ...] = Field(default=(), description="Steps in flight to record as CANCELLED.")


class DecisionRequest(BaseModel):
    model_config = _STRICT

    approve: bool


class SimulateRequest(BaseModel):
    model_config = _STRICT

    plan: Plan


class PlanRequestBody(BaseModel):
    model_config = _STRICT

    goal: str = Field(min_length=1, max_length=10_000)
    planner: str | None = None


class ExecuteRequest(BaseModel):
    model_config = _STRICT

    params: dict[str, Any] = Field(default_factory=dict)


class BudgetView(BaseModel):
    """A shared contract's limits, what is spent and held, and what remains."""

    model_config = ConfigDict(extra="allow", frozen=True)

    contract: str
    currency: str
    limits: dict[str, Any]
    spent: Cost
    reserved: Cost
    remaining: dict[str, Any]


class KeyRequest(BaseModel):
    model_config = _STRICT

    name: str = Field(pattern=NAME_PATTERN)
    scope: Scope = "run"
    contract: ResourceContract | None = None
    rate_limit: float | None = Field(default=None, gt=0, le=1_000_000)


class KeyCreated(BaseModel):
    model_config = _STRICT

    key: ApiKey
    secret: str = Field(description="The key itself, shown this once; only its hash is kept.")


class KeysView(BaseModel):
    model_config = _STRICT

    keys: list[ApiKey]


class Readiness(BaseModel):
    model_config = _STRICT

    ready: bool
    draining: bool
    store: bool
    workers: int
    workers_ready: int
    queued: int


# Lists of the core's own values, wrapped as the CLI's --json shows them.
class SkillsView(BaseModel):
    model_config = _STRICT
    skills: list[SkillMetadata]


class PluginsView(BaseModel):
    model_config = _STRICT
    plugins: list[PluginReport]


class FailuresView(BaseModel):
    model_config = _STRICT
    failures: list[CatalogEntry]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorInfo, "description": text}
    for status, text in {
        400: "The body is not JSON.",
        401: "No key, a wrong key or a revoked key.",
        403: "The key lacks the scope, or the run is another key's.",
        404: "No such run, skill, planner or budget.",
        409: "The run's state refuses this, or an Idempotency-Key was reused with another body.",
        413: "The body is too large.",
        422: "The body fails its schema, or the plan is invalid.",
        429: "The key's request rate is used up: wait Retry-After seconds.",
        503: "The server is draining for shutdown, or its store is unavailable.",
    }.items()
}
