"""Results of running, simulating and replaying plans."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from aos_core.contracts.cost import Cost, CostEstimate
from aos_core.contracts.errors import ErrorInfo
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import PlanProblem

__all__ = [
    "CostRange",
    "Divergence",
    "ReplayResult",
    "RunResult",
    "RunStatus",
    "RunSummary",
    "SimulationReport",
    "StepEstimate",
]

# queued: accepted, not started; running: an owner holds it; waiting_approval: paused until a step's
# approval is decided; interrupted: stopped (Ctrl-C, a signal, a crash, a step left for a decision)
# and resumable; cancelled: stopped on request; completed and failed: ended.
RunStatus = Literal["queued", "running", "waiting_approval", "interrupted", "cancelled", "completed", "failed"]


class RunResult(BaseModel):
    """A finished (or stopped) run: every step's outcome, what it spent and its final state."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    run_id: str = Field(description="Empty when the plan was refused before anything was recorded.")
    ok: bool
    status: RunStatus
    error: ErrorInfo | None = Field(default=None, description="Why the run could not start (an invalid plan).")
    outcomes: dict[str, StructuredOutcome] = Field(description="By step id, in plan order.")
    failed_step: str | None = None
    skipped: tuple[str, ...] = Field(
        default=(), description="Steps an ended run did not run (an upstream step failed, or the run stopped)."
    )
    spent: Cost
    state: dict[str, Any] = Field(default_factory=dict)
    resumed: bool = False
    reused: tuple[str, ...] = Field(default=(), description="Committed steps a resume did not run again.")
    repeated_in_flight: tuple[str, ...] = Field(default=(), description="In-flight steps a resume ran again.")
    not_repeated: tuple[str, ...] = Field(
        default=(),
        description="Steps in flight when the run stopped that a resume did not run again: they wait for a "
        "decision (repeat or abandon) and the run stays resumable.",
    )
    waiting_for_approval: tuple[str, ...] = Field(
        default=(), description="Steps paused until their approval is decided (status waiting_approval)."
    )

    def __repr__(self) -> str:
        # short on purpose: a run of 10,000 steps has a 10,000-item repr, and asyncio.run reprs the
        # main task (and so its result) each time it restores the SIGINT handler
        return (
            f"RunResult(run_id={self.run_id!r}, status={self.status!r}, ok={self.ok}, "
            f"outcomes=<{len(self.outcomes)} steps>, failed_step={self.failed_step!r}, spent={self.spent!r})"
        )


class Divergence(BaseModel):
    """Where a replay stopped matching its recording."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    step_id: str | None
    reason: str
    recorded: Any = None
    actual: Any = None


class ReplayResult(BaseModel):
    """Whether a replay matched its recording byte for byte, and if not, where it diverged."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    matched: bool
    run_id: str | None = None
    error: ErrorInfo | None = None
    divergence: Divergence | None = None
    outcomes: dict[str, StructuredOutcome] = Field(default_factory=dict)
    state: dict[str, Any] = Field(default_factory=dict)
    spent: Cost = Field(default_factory=Cost)
    reexecuted: tuple[str, ...] = Field(default=(), description="Deterministic steps re-executed and compared.")
    trace_sha256: str | None = None

    def __repr__(self) -> str:  # short, as RunResult's
        return (
            f"ReplayResult(matched={self.matched}, run_id={self.run_id!r}, outcomes=<{len(self.outcomes)} steps>, "
            f"divergence={self.divergence!r}, trace_sha256={self.trace_sha256!r})"
        )


class RunSummary(BaseModel):
    """One line of `aos runs`."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    run_id: str
    status: RunStatus
    goal: str
    created_at: str
    updated_at: str
    steps: int
    committed: int
    failed_step: str | None = None


class CostRange(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    low: Cost
    expected: Cost
    worst: Cost


class StepEstimate(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    step_id: str
    skill: str
    estimate: CostEstimate | None
    latency_ms: float
    needs_approval: bool = False


class SimulationReport(BaseModel):
    """What running a plan would do, found without executing anything."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    feasible: bool = Field(description="No problem found and the worst case fits the contract.")
    fits_contract: bool
    problems: tuple[PlanProblem, ...] = ()
    warnings: tuple[str, ...] = ()
    needs_approval: tuple[str, ...] = ()
    cost: CostRange
    latency_ms: float = Field(description="Expected wall time along the critical path, given the concurrency limit.")
    critical_path: tuple[str, ...] = ()
    order: tuple[str, ...] = ()
    steps: tuple[StepEstimate, ...] = ()
    contract: str = Field(
        default="", description="The id of the contract it was checked against (empty: an unnamed one)."
    )
