"""What a call depends on besides its inputs, behind one seam: the call's `World`.

The pipeline asks its world for everything that is not a pure function of the call: when it
started and how long it took, the literal params bound to real values (secrets), an approver's
answer, admission to an attempt (rate limits, price, reservations, the deadline), the skill's
result, the actual cost, whether there is time left to wait before a retry, and the wait itself.

`LiveWorld` does these things for real and, in a run, writes down what happened (`CallRecord`).
A replay's world (`aos_core.runs.replay`) answers from that record instead, so a replay runs
the very same pipeline and rebuilds the same record from what it computed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from aos_core.budget.ledger import Refusal, Reservation, refused_before_limits
from aos_core.contracts.cost import Cost, CostWarning
from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.protocols import SkillError
from aos_core.execution.clock import RecordingClock
from aos_core.execution.context import Context
from aos_core.execution.memory import AttemptMemory
from aos_core.execution.pacing import take_rate_limits
from aos_core.execution.prepared import PreparedSkill
from aos_core.execution.records import CallRecord, attempt_record
from aos_core.execution.secrets import resolve_secrets
from aos_core.execution.state import RunState
from aos_core.failures import classify_exception
from aos_core.policy import ApprovalRequest

if TYPE_CHECKING:
    from aos_core.execution.pipeline import CallScope, Executor

__all__ = [
    "Admission",
    "ApprovalPending",
    "Journal",
    "LiveWorld",
    "World",
    "budget_refused",
]

class ApprovalPending(Exception):
    """Raised by an approver that has no decision yet: the run pauses at this step, durably,
    until the approval is decided (`Runtime.decide_approval`), then resumes."""

    def __init__(self, request: ApprovalRequest) -> None:
        super().__init__(f"{request.skill} at step {request.step_id} waits for an approval")
        self.request = request


class Admission:
    """An attempt let through: what it holds on each account, its worst case and its deadline."""

    __slots__ = ("deadline_s", "holds", "waited_ms", "wall_bound", "worst")

    def __init__(
        self, holds: Sequence[Reservation], worst: Cost, deadline_s: float, wall_bound: bool, waited_ms: float
    ) -> None:
        self.holds = holds
        self.worst = worst
        self.deadline_s = deadline_s
        self.wall_bound = wall_bound  # the wall-time budget, not the skill's timeout, set the deadline
        self.waited_ms = waited_ms  # time spent waiting for a rate limit before this attempt

    def settle(self, actual: Cost | None) -> bool:
        """Settle every hold with `actual` (None: the worst case, for a call cut short).
        Idempotent. True when the actual cost overran the worst case."""
        charged = self.worst if actual is None else actual
        overran = False
        for hold in self.holds:
            overran = hold.ledger.settle(hold, charged) or overran
        return overran


class Journal(Protocol):
    """Where a run notes, durably and before the call is sent, that an attempt holds a worst
    case: after a crash that hold counts as spent until it is settled."""

    def hold(
        self, step_id: str, attempt: int, worst: Cost, idempotent: bool, repeatable: bool
    ) -> Awaitable[None] | None:
        """What to await until the hold is durable, or None when there is nothing to note.
        `repeatable`: the skill changes nothing, so repeating it after a crash is always safe."""
        ...


class World(Protocol):
    """See the module docstring; `LiveWorld` is the reference implementation."""

    def started(self, ex: Executor) -> float: ...

    def elapsed_ms(self, ex: Executor, started: float) -> float: ...

    def bind(self, ex: Executor, scope: CallScope, params: Any) -> Any: ...

    async def approval(self, ex: Executor, prep: PreparedSkill, params: Any, scope: CallScope) -> ErrorInfo | None: ...

    async def admit(
        self, ex: Executor, prep: PreparedSkill, params: Any, attempt: int, idempotent: bool, scope: CallScope
    ) -> Admission | ErrorInfo: ...

    def context(
        self, ex: Executor, prep: PreparedSkill, attempt: int, admitted: Admission, scope: CallScope
    ) -> Context: ...

    async def invoke(
        self, ex: Executor, prep: PreparedSkill, model: Any, ctx: Context, admitted: Admission, scope: CallScope
    ) -> tuple[Any, ErrorInfo | None]: ...

    def charge(
        self,
        ex: Executor,
        prep: PreparedSkill,
        params: Any,
        output: Any,
        error: ErrorInfo | None,
        admitted: Admission,
        scope: CallScope,
    ) -> tuple[Cost, CostWarning | None]: ...

    def may_wait(self, ex: Executor, delay: float, attempt: int, scope: CallScope) -> bool: ...

    async def sleep(self, ex: Executor, delay: float, scope: CallScope) -> None: ...

    def attempted(
        self,
        ex: Executor,
        ctx: Context,
        admitted: Admission,
        error: ErrorInfo | None,
        cost: Cost,
        delay: float | None,
        idempotent: bool,
        scope: CallScope,
    ) -> None: ...


def budget_refused(skill: str, refusal: Refusal) -> ErrorInfo:
    return make_error(
        ErrorCode.BUDGET_EXCEEDED,
        f"{skill} refused before the call: {refusal.message}",
        details={**refusal.details(), "skill": skill},
    )


def _release(holds: list[Reservation]) -> None:
    for hold in holds:
        hold.ledger.release(hold)


class LiveWorld:
    """The real world: the runtime's clock, its approver, the accounts' ledgers and buckets, the
    skill itself. With `record` it keeps a `CallRecord`; with `journal` it notes holds durably."""

    __slots__ = ("emit", "journal", "record", "state")

    def __init__(
        self,
        state: RunState,
        record: CallRecord | None = None,
        journal: Journal | None = None,
        emit: Callable[..., None] | None = None,
    ) -> None:
        self.state = state
        self.record = record
        self.journal = journal
        self.emit = emit  # the run engine's event reporter

    def started(self, ex: Executor) -> float:
        value: float = ex.clock.monotonic()
        return value

    def elapsed_ms(self, ex: Executor, started: float) -> float:
        elapsed = ex.clock.monotonic() - started
        return int(elapsed * 1e6 + 0.5) / 1000 if elapsed > 0 else 0.0  # to the microsecond

    def bind(self, ex: Executor, scope: CallScope, params: Any) -> Any:
        return scope.bind(ex.secrets) if scope.bind is not None else resolve_secrets(params, ex.secrets)

    async def approval(self, ex: Executor, prep: PreparedSkill, params: Any, scope: CallScope) -> ErrorInfo | None:
        meta = prep.meta
        if ex.approve is None:
            granted, reason = False, None
        else:
            request = ApprovalRequest(meta.name, meta.side_effects.value, dict(params), scope.step_id)
            try:
                granted, reason = (await scope.waits.resolve(ex.approve(request))) is True, "it was declined"
            except ApprovalPending:
                raise  # no decision yet: the run pauses here
            except Exception as exc:  # noqa: BLE001 - a failing approver means "not approved"
                granted, reason = False, f"the approver failed: {type(exc).__name__}: {exc}"
        if self.record is not None:
            self.record.approval = granted
        if granted:
            return None
        if reason is None:
            message = (
                f"{meta.name} has {meta.side_effects.value} side effects and needs approval; "
                f"grant it (--approve {meta.name}) or pass an approve callback"
            )
        else:
            message = f"{meta.name} needs approval and {reason}"
        return make_error(
            ErrorCode.PERMISSION_DENIED, message, details={"rule": "policy.approval_required_for", "skill": meta.name}
        )

    async def admit(
        self, ex: Executor, prep: PreparedSkill, params: Any, attempt: int, idempotent: bool, scope: CallScope
    ) -> Admission | ErrorInfo:
        """Reserve the worst case on every account, note the hold durably, then wait for the rate
        limits: a token is taken right before the call, so calls are spaced as the limit says
        even when the durable write before them takes a while (the budget stays held meanwhile)."""
        clock = ex.clock
        priced = prep.estimate(params, clock)
        if isinstance(priced, ErrorInfo):
            return priced
        worst = priced.worst
        now = clock.monotonic()
        holds: list[Reservation] = []
        for account in scope.accounts:
            held = account.ledger.reserve(worst, now)
            if isinstance(held, Refusal):
                _release(holds)
                return budget_refused(prep.name, held)
            holds.append(held)
        waited: float | ErrorInfo = 0.0
        try:
            if self.journal is not None:
                written = self.journal.hold(scope.step_id, attempt, worst, idempotent, prep.safe_to_repeat)
                if written is not None:
                    await written
            for account in scope.accounts:
                if account.contract.rate_limits:  # the coroutine only when a bucket may apply
                    waited = await take_rate_limits(clock, prep.name, scope)
                    break
        except BaseException:
            _release(holds)
            raise
        if isinstance(waited, ErrorInfo):
            _release(holds)
            return waited
        if waited or self.journal is not None:
            now = clock.monotonic()
        deadline, wall_bound = prep.timeout_s, False
        for account in scope.accounts:
            ledger = account.ledger
            if not ledger.wall_limited:
                continue
            left = ledger.remaining_wall_ms(now)
            if left is None:
                continue
            if left <= 0:  # the wait used up the wall-time budget
                _release(holds)
                refusal = refused_before_limits(ledger.contract, worst, left, ledger.elapsed_ms(now))
                assert refusal is not None
                return budget_refused(prep.name, refusal)
            if left / 1000.0 < deadline:
                deadline, wall_bound = left / 1000.0, True
        return Admission(holds, worst, deadline, wall_bound, round(waited * 1000.0, 3) if waited else 0.0)

    def context(
        self, ex: Executor, prep: PreparedSkill, attempt: int, admitted: Admission, scope: CallScope
    ) -> Context:
        memory = ex.memory
        writes = prep.writes
        return Context(
            RecordingClock(ex.clock) if self.record is not None else ex.clock,
            ex.secrets,
            ex.policy,
            self.state,
            prep.config,
            scope.step_id,
            attempt,
            admitted.deadline_s * 1000.0,
            ex.pool,
            ex.seed,
            None if memory is None else lambda: AttemptMemory(memory, prep.name, writes),
        )

    async def invoke(
        self, ex: Executor, prep: PreparedSkill, model: Any, ctx: Context, admitted: Admission, scope: CallScope
    ) -> tuple[Any, ErrorInfo | None]:
        result = await ex.run_skill(prep, model, ctx, admitted.deadline_s, scope.waits)
        output, error = ex.judge(prep, result, admitted)
        memory = ctx.used_memory()
        if error is None and memory is not None and memory.pending:
            try:
                memory.apply()  # the attempt succeeded: what it wrote is written now
            except SkillError as exc:
                return None, classify_exception(exc, ex.classifiers, prep.meta)
        return output, error

    def charge(
        self,
        ex: Executor,
        prep: PreparedSkill,
        params: Any,
        output: Any,
        error: ErrorInfo | None,
        admitted: Admission,
        scope: CallScope,
    ) -> tuple[Cost, CostWarning | None]:
        return prep.charge(params, output, admitted.worst, error, ex.clock)

    def may_wait(self, ex: Executor, delay: float, attempt: int, scope: CallScope) -> bool:
        now = ex.clock.monotonic()
        for account in scope.accounts:
            left = account.ledger.remaining_wall_ms(now)
            if left is not None and delay * 1000.0 >= left:
                return False
        return True

    async def sleep(self, ex: Executor, delay: float, scope: CallScope) -> None:
        await scope.waits.sleep(ex.clock, delay)

    def attempted(
        self,
        ex: Executor,
        ctx: Context,
        admitted: Admission,
        error: ErrorInfo | None,
        cost: Cost,
        delay: float | None,
        idempotent: bool,
        scope: CallScope,
    ) -> None:
        if self.record is not None:
            self.record.attempts.append(attempt_record(ex, ctx, admitted, error, cost, delay, idempotent))
        if self.emit is not None:
            self.emit(
                "attempt",
                step_id=scope.step_id,
                attempt=ctx.attempt,
                error=None if error is None else error.code.value,
                delay_ms=None if delay is None else round(delay * 1000.0, 3),
            )
