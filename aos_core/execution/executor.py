"""The execution pipeline: one call of one skill, from parameters to `StructuredOutcome`.

Order of the gates, each refusing before anything is spent: skill found -> policy allows it ->
parameters validate -> approval -> (per attempt) rate limit -> budget reservation -> call ->
output validation -> settle the actual cost -> retry if the failure is retryable.
The pipeline never raises: every failure becomes an `ErrorInfo` in the outcome.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aos_core.budget.estimators import choose_estimators
from aos_core.budget.ledger import Ledger, Refusal
from aos_core.budget.ratelimit import TokenBucket
from aos_core.contracts.build import trusted
from aos_core.contracts.cost import Cost
from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.profile import Policy
from aos_core.execution.approval import ask_approval
from aos_core.execution.checks import (
    cancelled_error,
    check_output,
    not_found,
    rate_limited,
    timeout_error,
    validate_params,
)
from aos_core.execution.clock import RecordingClock, SystemClock
from aos_core.execution.concurrency import Gate
from aos_core.execution.context import Context
from aos_core.execution.effects import (
    CallAsync,
    CallThread,
    Pipeline,
    SkillExited,
    Sleep,
    WaitSlot,
    guard,
    guard_call,
    no_exit,
    no_exit_async,
)
from aos_core.execution.prepared import PreparedSkill, prepare
from aos_core.execution.resources import ResourcePool
from aos_core.execution.retry import retry_delay
from aos_core.execution.secrets import SecretStore
from aos_core.execution.state import RunState
from aos_core.failures import classify_exception
from aos_core.plugins.contributions import SkillEntry
from aos_core.plugins.loader import Registry
from aos_core.policy import ApprovalRequest

__all__ = ["AttemptRecord", "CallScope", "Executor"]

_ZERO = Cost()


@dataclass(slots=True)
class AttemptRecord:
    """What one attempt consumed and produced, for the run's trace."""

    attempt: int
    clock: list[list[Any]]
    state_writes: dict[str, Any]
    error: str | None
    delay_ms: float | None = None


class CallScope:
    """Where a call happens: its step id, trace id, state, and whether attempts are recorded
    (then `attempts` collects them)."""

    __slots__ = ("attempts", "record", "state", "step_id", "trace_id")

    def __init__(self, step_id: str, trace_id: str | None, state: RunState, record: bool = False) -> None:
        self.step_id = step_id
        self.trace_id = trace_id
        self.state = state
        self.record = record
        self.attempts: list[AttemptRecord] = []


class Executor:
    """Executes skills under one policy, contract and ledger."""

    def __init__(
        self,
        *,
        registry: Registry,
        policy: Policy,
        ledger: Ledger,
        secrets: SecretStore,
        clock: Any,
        seed: int,
        pool: ResourcePool,
        skill_config: Mapping[str, Mapping[str, Any]],
        approve: Callable[[ApprovalRequest], Any] | None,
        max_output_bytes: int,
        on_outcome: Callable[[StructuredOutcome], None],
    ) -> None:
        self.registry = registry
        self.policy = policy
        self.ledger = ledger
        self.secrets = secrets
        self.clock = clock
        self.seed = seed
        self.pool = pool
        self.skill_config = skill_config
        self.approve = approve
        self.max_output_bytes = max_output_bytes
        self.on_outcome = on_outcome
        self.classifiers = [c.obj for c in registry.classifiers]
        self.estimators = choose_estimators(registry)
        self._prepared: dict[str, PreparedSkill] = {}
        self._currency = ledger.contract.currency
        # the system clock's reading without a method call in between (it is read several times a call)
        self._monotonic: Callable[[], float] = time.monotonic if type(clock) is SystemClock else clock.monotonic
        contract = ledger.contract
        self.gate = Gate(contract.max_concurrency) if contract.max_concurrency else None
        now = clock.monotonic()
        self.buckets = {name: TokenBucket(limit, now) for name, limit in contract.rate_limits.items()}

    # -- the pipeline --------------------------------------------------------------------------
    def prepared(self, name: str) -> PreparedSkill | None:
        """The skill `name` as this executor calls it (worked out on first use), or None if unknown."""
        prep = self._prepared.get(name)
        if prep is None:
            entry = self.registry.skills.get(name)
            if entry is None:
                return None
            prep = self._prepared[name] = prepare(
                entry,
                policy=self.policy,
                estimator=self.estimators.get(name),
                config=self.skill_config.get(name, {}),
                bucket=self.buckets.get(name),
            )
        return prep

    def pipeline(self, name: str, params: Any, scope: CallScope, resolved: Any = None) -> Pipeline:
        """Generator yielding effects and returning the `StructuredOutcome` of this call.

        `params` is what the caller wrote (secret references unresolved: approvals see it);
        `resolved`, when given, is the same with secrets already resolved by the run engine.
        """
        started = self._monotonic()
        prep = self._prepared.get(name) or self.prepared(name)
        if prep is None:
            return self._done(name, "", None, not_found(name, self.registry.skills), _ZERO, 0, started, scope)
        if prep.refusal is not None:
            return self._done(name, prep.version, None, prep.refusal, _ZERO, 0, started, scope)
        model, call_params, error = validate_params(prep, params, self.secrets, resolved)
        if error is not None:
            return self._done(name, prep.version, None, error, _ZERO, 0, started, scope)
        if prep.approval:
            error = yield from ask_approval(self.approve, prep.meta, params, scope.step_id)
            if error is not None:
                return self._done(name, prep.version, None, error, _ZERO, 0, started, scope)
        gate = self.gate
        if gate is None:
            output, error, total, attempts = yield from self._attempts(prep, model, call_params, scope)
            return self._done(name, prep.version, output, error, total, attempts, started, scope)
        if not gate.try_acquire():
            cancelled = yield from guard(WaitSlot(gate))
            if cancelled:
                error = make_error(ErrorCode.CANCELLED, f"{name} was cancelled while waiting for a slot")
                return self._done(name, prep.version, None, error, _ZERO, 0, started, scope)
        try:
            output, error, total, attempts = yield from self._attempts(prep, model, call_params, scope)
        finally:
            gate.release()
        return self._done(name, prep.version, output, error, total, attempts, started, scope)

    def run_inline(self, name: str, params: Any, scope: CallScope) -> StructuredOutcome | None:
        """The same pipeline as one plain call, for the sync API when nothing can make the call
        wait: a sync skill called inline, no approval, no rate limit, a free concurrency slot.
        None when something could wait; then drive `pipeline` instead."""
        prep = self._prepared.get(name) or self.prepared(name)
        if prep is None or not prep.direct:
            return None
        gate = self.gate
        if gate is not None and not gate.try_acquire():
            return None
        try:
            started = self._monotonic()
            error = prep.refusal
            if error is None:
                model, params, error = validate_params(prep, params, self.secrets)
            if error is not None:
                return self._done(name, prep.version, None, error, _ZERO, 0, started, scope)
            total, attempt = _ZERO, 0
            while True:
                now = self._monotonic()
                attempt += 1
                opened = self._open(prep, params, scope, attempt, now)
                if type(opened) is not tuple:
                    return self._done(name, prep.version, None, opened, total, attempt - 1, started, scope)
                status, value = self._inline(prep.execute, model, opened[0], now, opened[2])
                output, error, actual, delay = self._close(prep, params, scope, opened, status, value)
                total = actual if total is _ZERO else total + actual
                if delay is None:
                    return self._done(name, prep.version, output, error, total, attempt, started, scope)
                sleep = getattr(self.clock, "sleep", None)
                if sleep is not None:
                    sleep(delay)
        finally:
            if gate is not None:
                gate.release()

    def _attempts(self, prep: PreparedSkill, model: Any, params: Any, scope: CallScope) -> Any:
        name = prep.name
        clock = self.clock
        monotonic = self._monotonic
        bucket = prep.bucket
        total, attempt = _ZERO, 0
        while True:
            now = monotonic()
            if bucket is not None:
                wait = bucket.take(now)
                while wait > 0:
                    if bucket.limit.on_limit == "fail":
                        return None, rate_limited(name, bucket, wait), total, attempt
                    if (yield from guard(Sleep(clock, wait))):
                        return None, cancelled_error(name), total, attempt
                    now = monotonic()
                    wait = bucket.take(now)
            attempt += 1
            opened = self._open(prep, params, scope, attempt, now)
            if type(opened) is not tuple:
                return None, opened, total, attempt - 1
            if prep.inline:
                status, value = self._inline(prep.execute, model, opened[0], now, opened[2])
            else:
                status, value = yield from self.call(prep.entry, model, opened[0], opened[2])
            output, error, actual, delay = self._close(prep, params, scope, opened, status, value)
            total = actual if total is _ZERO else total + actual
            if delay is None:
                return output, error, total, attempt
            if (yield from guard(Sleep(clock, delay))):
                return None, cancelled_error(name), total, attempt

    def _open(self, prep: PreparedSkill, params: Any, scope: CallScope, attempt: int, now: float) -> Any:
        """Price attempt `attempt` and hold its worst case: (context, reservation, deadline in
        seconds, whether the wall-time budget set that deadline), or the error refusing it."""
        fixed = prep.fixed
        if fixed is not None:
            worst = fixed.worst
        else:
            priced = prep.estimate(params, self.clock.now())
            if isinstance(priced, ErrorInfo):
                return priced
            worst = priced.worst
        ledger = self.ledger
        held = ledger.reserve(worst, now)
        if isinstance(held, Refusal):
            return make_error(
                ErrorCode.BUDGET_EXCEEDED,
                f"{prep.name} refused before the call: {held.message}",
                details={**held.details(), "skill": prep.name},
            )
        deadline_s = prep.timeout_s
        wall_bound = False
        if ledger.wall_limited:
            wall_left = ledger.remaining_wall_ms(now) / 1000.0  # type: ignore[operator]
            if wall_left < deadline_s:
                deadline_s, wall_bound = max(0.0, wall_left), True
        ctx = Context(
            RecordingClock(self.clock) if scope.record else self.clock,
            self.secrets,
            self.policy,
            scope.state,
            prep.config,
            scope.step_id,
            attempt,
            deadline_s * 1000.0,
            self.pool,
            self.seed,
        )
        return ctx, held, deadline_s, wall_bound

    def _close(
        self, prep: PreparedSkill, params: Any, scope: CallScope, opened: Any, status: str, value: Any
    ) -> tuple[Any, ErrorInfo | None, Cost, float | None]:
        """Judge an attempt's result, settle its cost and record it: (output, error, actual
        cost, delay before the next attempt, None when there is none)."""
        ctx, held, deadline_s, wall_bound = opened
        output: Any = None
        error: ErrorInfo | None
        if status == "ok":
            output, error = check_output(prep.entry, value, self.max_output_bytes)
        elif status == "timeout":
            error = timeout_error(prep.name, deadline_s, wall_bound)
        elif status == "cancelled":
            error = cancelled_error(prep.name)
        else:
            error = classify_exception(value, self.classifiers, prep.meta)
        worst = held.worst
        actual = worst if prep.fixed is not None else prep.actual(params, output, worst, error, self.clock.now())
        self.ledger.settle(held, actual)
        record = None
        if scope.record:
            record = AttemptRecord(
                ctx.attempt, ctx.clock.readings, ctx.recorded_writes(), None if error is None else error.code.value
            )
            scope.attempts.append(record)
        if error is None or not error.retryable or status == "cancelled":
            return output, error, actual, None
        if ctx.attempt >= self.policy.retry.max_attempts:
            return output, error, actual, None
        delay = retry_delay(self.policy.retry, error, self.seed, scope.step_id, ctx.attempt)
        left = self.ledger.remaining_wall_ms(self._monotonic())
        if delay is None or (left is not None and delay * 1000.0 >= left):
            return output, error, actual, None
        if record is not None:
            record.delay_ms = round(delay * 1000.0, 3)
        return output, error, actual, delay

    def call(self, entry: SkillEntry, model: Any, ctx: Context, deadline_s: float) -> Any:
        execute = entry.skill.execute
        if entry.is_async:
            result = yield from guard_call(CallAsync(lambda: no_exit_async(execute(model, ctx)), deadline_s))
            return result
        if entry.metadata.blocking:
            result = yield from guard_call(CallThread(no_exit, (execute, model, ctx), deadline_s))
            return result
        return self.call_inline(entry, model, ctx, deadline_s)

    def call_inline(self, entry: SkillEntry, model: Any, ctx: Context, deadline_s: float) -> tuple[str, Any]:
        """A sync skill that does not block, called on the caller's thread; its timeout is
        checked when it returns."""
        return self._inline(entry.skill.execute, model, ctx, self._monotonic(), deadline_s)

    def _inline(self, execute: Any, model: Any, ctx: Context, begun: float, deadline_s: float) -> tuple[str, Any]:
        try:
            value = execute(model, ctx)
        except asyncio.CancelledError as exc:
            return ("cancelled", exc)
        except Exception as exc:  # noqa: BLE001 - the skill's exception is classified, never raised
            return ("raised", exc)
        except SystemExit as exc:
            return ("raised", SkillExited(exc))
        if self._monotonic() - begun > deadline_s:
            return ("timeout", None)
        return ("ok", value)

    # -- pieces ----------------------------------------------------------------------------------
    def _done(
        self,
        name: str,
        version: str,
        output: Any,
        error: ErrorInfo | None,
        cost: Cost,
        attempts: int,
        started: float,
        scope: CallScope,
    ) -> StructuredOutcome:
        secrets = self.secrets
        if secrets.active:
            output = secrets.redact(output)
            if error is not None:
                error = error.model_copy(
                    update={"message": secrets.redact_text(error.message), "details": secrets.redact(error.details)}
                )
        elapsed = self._monotonic() - started
        currency = self._currency
        if cost.currency != currency and not cost.money:
            cost = cost.model_copy(update={"currency": currency})
        outcome = trusted(
            StructuredOutcome,
            {
                "ok": error is None,
                "output": output if error is None else None,
                "error": error,
                "skill": name,
                "skill_version": version,
                "cost": cost,
                # to the microsecond, rounding half up: round(x, 3) costs five times more
                "duration_ms": int(elapsed * 1e6 + 0.5) / 1000 if elapsed > 0 else 0.0,
                "attempts": attempts,
                "trace_id": scope.trace_id,
                "step_id": scope.step_id,
            },
        )
        self.on_outcome(outcome)
        return outcome
