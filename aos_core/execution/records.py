"""What a run writes down about one call: its approval and, per attempt, a record.

One function (`attempt_record`) builds an attempt's record from what the pipeline computed, for a
run and for its replay alike, so a replayed record can be compared with the recorded one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aos_core.contracts.cost import Cost
from aos_core.contracts.errors import ErrorInfo
from aos_core.execution.context import Context

if TYPE_CHECKING:
    from aos_core.execution.pipeline import Executor
    from aos_core.execution.world import Admission

__all__ = ["AttemptRecord", "CallRecord", "attempt_record"]


@dataclass(slots=True)
class AttemptRecord:
    """One attempt as the trace keeps it."""

    attempt: int
    idempotent: bool
    waited_ms: float
    deadline_ms: float
    clock: list[list[Any]]
    state_writes: dict[str, Any]
    memory: list[dict[str, Any]]
    error: dict[str, Any] | None
    cost: dict[str, Any]
    delay_ms: float | None

    def as_json(self) -> dict[str, Any]:
        return {
            "attempt": self.attempt,
            "idempotent": self.idempotent,
            "waited_ms": self.waited_ms,
            "deadline_ms": self.deadline_ms,
            "clock": self.clock,
            "state_writes": self.state_writes,
            "memory": self.memory,
            "error": self.error,
            "cost": self.cost,
            "delay_ms": self.delay_ms,
        }


@dataclass(slots=True)
class CallRecord:
    """Everything a run writes down about one call besides its outcome."""

    approval: bool | None = None  # None: no approval was asked
    attempts: list[AttemptRecord] = field(default_factory=list)


class _LastCost:
    """The JSON data of the last `Cost` an attempt record wrote: a skill priced by its metadata
    charges the same frozen `Cost` at every attempt, dumped once (1.3 µs an attempt) and copied
    for each record (records never share a mutable part)."""

    last: tuple[Cost, dict[str, Any]] | None = None

    @classmethod
    def json(cls, cost: Cost) -> dict[str, Any]:
        last = cls.last
        if last is None or last[0] is not cost:
            last = cls.last = (cost, cost.model_dump(mode="json"))
        return dict(last[1])


def attempt_record(
    ex: Executor,
    ctx: Context,
    admitted: Admission,
    error: ErrorInfo | None,
    cost: Cost,
    delay: float | None,
    idempotent: bool,
) -> AttemptRecord:
    """The trace's record of one attempt, redacted (the same function for a run and a replay)."""
    secrets = ex.secrets
    return AttemptRecord(
        attempt=ctx.attempt,
        idempotent=idempotent,
        waited_ms=admitted.waited_ms,
        deadline_ms=round(admitted.deadline_s * 1000.0, 3),
        clock=ctx.clock.readings,
        state_writes=secrets.redact(ctx.recorded_writes()),
        memory=secrets.redact(ctx.used_memory().log) if ctx.used_memory() is not None else [],
        error=None if error is None else secrets.redact(error.model_dump(mode="json")),
        cost=_LastCost.json(cost),
        delay_ms=None if delay is None else round(delay * 1000.0, 3),
    )
