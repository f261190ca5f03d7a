"""Results of running, simulating and replaying plans."""

from __future__ import annotations

import itertools
from collections.abc import Callable, ItemsView, Iterator, Mapping, Sequence, ValuesView
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)

from aos_core.contracts.compact import share_fields_set
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
    "StepOutcomes",
]

# queued: accepted, not started; running: an owner holds it; waiting_approval: paused until a step's
# approval is decided; interrupted: stopped (Ctrl-C, a signal, a crash, a step left for a decision)
# and resumable; cancelled: stopped on request; completed and failed: ended.
RunStatus = Literal["queued", "running", "waiting_approval", "interrupted", "cancelled", "completed", "failed"]

Loader = Callable[[list[str]], Mapping[str, StructuredOutcome]]  # step ids -> their outcomes (in any order)
_BATCH = 500  # outcomes loaded at a time when iterated


class StepOutcomes(Mapping[str, StructuredOutcome]):
    """A run's outcomes by step id, in plan order, read-only. A durable run's outcomes are read
    from where they were recorded (the run store, a replay's recording) when asked for, a batch
    at a time when iterated, so that a run never holds them all: a 100,000-step `aos run` held
    ~0.8 KiB a step in outcomes (bench case 6). The ones in `kept` are held (a failed step's;
    every step's when nothing records them). Read them while the `Runtime` is open."""

    __slots__ = ("_done", "_kept", "_load", "_order", "_position")

    def __init__(
        self,
        order: Sequence[str],
        position: Mapping[str, int],
        done: bytearray,
        kept: Mapping[str, StructuredOutcome],
        load: Loader | None,
    ) -> None:
        self._order = order  # every step id of the plan, in plan order
        self._position = position  # step id -> its index in `order`
        self._done = done  # 1 at the index of each step that has an outcome
        self._kept = kept
        self._load = load

    def __getitem__(self, step_id: str) -> StructuredOutcome:
        kept = self._kept.get(step_id)
        if kept is not None:
            return kept
        if step_id not in self or self._load is None:
            raise KeyError(step_id)
        return self._load([step_id])[step_id]

    def __contains__(self, step_id: object) -> bool:
        index = self._position.get(step_id) if isinstance(step_id, str) else None
        return index is not None and bool(self._done[index])

    def __iter__(self) -> Iterator[str]:
        done = self._done
        return (step_id for index, step_id in enumerate(self._order) if done[index])

    def __len__(self) -> int:
        return len(self._done) - self._done.count(0)

    def items(self) -> ItemsView[str, StructuredOutcome]:
        return _Items(self)

    def values(self) -> ValuesView[StructuredOutcome]:
        return _Values(self)

    def _pairs(self) -> Iterator[tuple[str, StructuredOutcome]]:
        """Every (step id, outcome), loading those not kept a batch at a time."""
        kept, steps = self._kept, iter(self)
        while chunk := list(itertools.islice(steps, _BATCH)):
            wanted = [step_id for step_id in chunk if step_id not in kept]
            loaded = self._load(wanted) if wanted and self._load is not None else {}
            for step_id in chunk:
                found = kept.get(step_id)
                yield step_id, found if found is not None else loaded[step_id]

    def __repr__(self) -> str:
        return f"<{len(self)} step outcomes>"


class _Items(ItemsView[str, StructuredOutcome]):
    _mapping: StepOutcomes

    def __iter__(self) -> Iterator[tuple[str, StructuredOutcome]]:
        return self._mapping._pairs()


class _Values(ValuesView[StructuredOutcome]):
    _mapping: StepOutcomes

    def __iter__(self) -> Iterator[StructuredOutcome]:
        return (outcome for _, outcome in self._mapping._pairs())


def _outcomes(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """A `StepOutcomes` is taken as it is (validating it would load every outcome)."""
    return value if isinstance(value, StepOutcomes) else handler(value)


Outcomes = Annotated[
    Mapping[str, StructuredOutcome],
    WrapValidator(_outcomes),
    PlainSerializer(dict, return_type=dict[str, StructuredOutcome]),
]


class RunResult(BaseModel):
    """A finished (or stopped) run: every step's outcome, what it spent and its final state.

    `outcomes` is a read-only mapping; a durable run's are read back from its run store when
    asked for (`StepOutcomes`), so the result of a 100,000-step run stays small."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    run_id: str = Field(description="Empty when the plan was refused before anything was recorded.")
    ok: bool
    status: RunStatus
    error: ErrorInfo | None = Field(default=None, description="Why the run could not start (an invalid plan).")
    outcomes: Outcomes = Field(
        description="By step id, in plan order: a read-only mapping; a durable run's outcomes are read from its "
        "run store when asked for (`StepOutcomes`), so read them while the runtime is open."
    )
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
    outcomes: Outcomes = Field(default_factory=dict)
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

    @model_validator(mode="after")
    def _compact(self) -> StepEstimate:
        # a simulation has one per step: its own set of five field names was 728 of its ~870
        # bytes, and `aos run`'s preflight of 100,000 steps peaked on them (bench case 6)
        share_fields_set(self)
        return self


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
