"""The execution pipeline: one call of one skill, from parameters to `StructuredOutcome`.

Order of the gates, each refusing before anything is spent: skill found -> policy allows it ->
parameters validate -> approval -> (per attempt) rate limit -> budget reservation -> call ->
output validation -> settle the actual cost -> retry if the failure is retryable.
The pipeline never raises: every failure becomes an `ErrorInfo` in the outcome.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aos_core.budget.estimators import MetadataEstimator, choose_estimators
from aos_core.budget.ledger import Ledger, Refusal
from aos_core.budget.ratelimit import TokenBucket
from aos_core.contracts.build import trusted
from aos_core.contracts.cost import Cost, CostEstimate
from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.profile import Policy
from aos_core.contracts.protocols import EstimateContext, SkillError
from aos_core.execution.checks import cancelled_error, check_output, not_found, timeout_error, validate_params
from aos_core.execution.clock import RecordingClock
from aos_core.execution.concurrency import Gate
from aos_core.execution.context import Context
from aos_core.execution.effects import (
    Approve,
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
from aos_core.execution.resources import ResourcePool
from aos_core.execution.secrets import SecretStore
from aos_core.execution.seeds import seeded_random
from aos_core.execution.state import RunState, StateWriter
from aos_core.failures import classify_exception
from aos_core.plugins.contributions import SkillEntry
from aos_core.plugins.loader import Registry
from aos_core.policy import ApprovalRequest, check_allowed, needs_approval, timeout_ms

__all__ = ["AttemptRecord", "CallScope", "Executor"]

_ZERO = Cost()
_FALLBACK = MetadataEstimator()


@dataclass(slots=True)
class AttemptRecord:
    """What one attempt consumed and produced, for the run's trace."""

    attempt: int
    clock: list[list[Any]]
    state_writes: dict[str, Any]
    error: str | None
    delay_ms: float | None = None


@dataclass(slots=True)
class CallScope:
    """Where a call happens: its step id, trace id, state, and whether attempts are recorded."""

    step_id: str
    trace_id: str | None
    state: RunState
    record: bool = False
    attempts: list[AttemptRecord] = field(default_factory=list)


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
        self._timeouts: dict[str, float] = {}
        self.estimators = choose_estimators(registry)
        contract = ledger.contract
        self.gate = Gate(contract.max_concurrency) if contract.max_concurrency else None
        now = clock.monotonic()
        self.buckets = {name: TokenBucket(limit, now) for name, limit in contract.rate_limits.items()}

    # -- the pipeline --------------------------------------------------------------------------
    def pipeline(self, name: str, params: Any, scope: CallScope, resolved: Any = None) -> Pipeline:
        """Generator yielding effects and returning the `StructuredOutcome` of this call.

        `params` is what the caller wrote (secret references unresolved: approvals see it);
        `resolved`, when given, is the same with secrets already resolved by the run engine.
        """
        clock = self.clock
        started = clock.monotonic()
        entry = self.registry.skills.get(name)
        if entry is None:
            return self._done(name, "", None, not_found(name, self.registry.skills), _ZERO, 0, started, scope)
        meta = entry.metadata
        error = check_allowed(self.policy, name)
        if error is not None:
            return self._done(name, meta.version, None, error, _ZERO, 0, started, scope)
        model, call_params, error = validate_params(entry, params, self.secrets, resolved)
        if error is not None:
            return self._done(name, meta.version, None, error, _ZERO, 0, started, scope)
        if needs_approval(self.policy, meta):
            error = yield from self._ask_approval(entry, params, scope)
            if error is not None:
                return self._done(name, meta.version, None, error, _ZERO, 0, started, scope)
        gate = self.gate
        if gate is not None and not gate.try_acquire():
            cancelled = yield from guard(WaitSlot(gate))
            if cancelled:
                error = make_error(ErrorCode.CANCELLED, f"{name} was cancelled while waiting for a slot")
                return self._done(name, meta.version, None, error, _ZERO, 0, started, scope)
        try:
            output, error, total, attempts = yield from self._attempts(entry, model, call_params, scope)
        finally:
            if gate is not None:
                gate.release()
        return self._done(name, meta.version, output, error, total, attempts, started, scope)

    def _attempts(self, entry: SkillEntry, model: Any, params: Any, scope: CallScope) -> Any:
        meta = entry.metadata
        name = meta.name
        clock = self.clock
        ledger = self.ledger
        estimator = self.estimators.get(name, _FALLBACK)
        config = self.skill_config.get(name, {})
        max_attempts = self.policy.retry.max_attempts
        timeout_s = self._timeouts.get(name)
        if timeout_s is None:
            timeout_s = self._timeouts[name] = timeout_ms(self.policy, meta) / 1000.0
        bucket = self.buckets.get(name)
        total = _ZERO
        attempt = 0
        output: Any = None
        error: ErrorInfo | None = None
        while True:
            now = clock.monotonic()
            if bucket is not None:
                wait = bucket.take(now)
                while wait > 0:
                    if bucket.limit.on_limit == "fail":
                        retry_after = max(1, round(wait * 1000))
                        error = make_error(
                            ErrorCode.RATE_LIMITED,
                            f"{name} is rate limited to {bucket.limit.per_second}/s; retry after {retry_after} ms",
                            details={"rule": f"rate_limits.{name}", "skill": name},
                            retry_after_ms=retry_after,
                        )
                        return None, error, total, attempt
                    if (yield from guard(Sleep(clock, wait))):
                        return None, cancelled_error(name), total, attempt
                    now = clock.monotonic()
                    wait = bucket.take(now)
            try:
                if estimator is _FALLBACK:
                    estimate: CostEstimate = _FALLBACK.estimate(meta, params)
                else:
                    estimate = estimator.estimate(meta, params, EstimateContext(at=clock.now(), config=config))
            except SkillError as exc:  # the estimator refuses to price this call (e.g. an unknown model)
                error = make_error(exc.code, exc.message, details={**exc.details, "stage": "estimate"})
                return None, error, total, attempt
            except Exception as exc:  # noqa: BLE001 - an estimator's crash refuses the call, spending nothing
                error = make_error(
                    ErrorCode.SKILL_CRASHED,
                    f"cost estimator {getattr(estimator, 'name', '?')} failed for {name}: {type(exc).__name__}: {exc}",
                    details={"stage": "estimate"},
                )
                return None, error, total, attempt
            held = ledger.reserve(estimate.worst, now)
            if isinstance(held, Refusal):
                error = make_error(
                    ErrorCode.BUDGET_EXCEEDED,
                    f"{name} refused before the call: {held.message}",
                    details={**held.details(), "skill": name},
                )
                return None, error, total, attempt
            attempt += 1
            deadline_s = timeout_s
            wall_left = ledger.remaining_wall_ms(now)
            wall_bound = wall_left is not None and wall_left / 1000.0 < deadline_s
            if wall_bound:
                deadline_s = max(0.0, wall_left / 1000.0)  # type: ignore[operator]
            writer = StateWriter(scope.state)
            skill_clock = RecordingClock(clock) if scope.record else clock
            ctx = Context(
                clock=skill_clock,
                secrets=self.secrets,
                policy=self.policy,
                state=writer,
                config=config,
                step_id=scope.step_id,
                attempt=attempt,
                deadline_ms=deadline_s * 1000.0,
                pool=self.pool,
                seed=self.seed,
            )
            if entry.is_async or meta.blocking:
                status, value = yield from self.call(entry, model, ctx, deadline_s)
            else:
                status, value = self.call_inline(entry, model, ctx, deadline_s)
            output, error = None, None
            if status == "ok":
                output, error = check_output(entry, value, self.max_output_bytes)
            elif status == "timeout":
                error = timeout_error(name, deadline_s, wall_bound)
            elif status == "cancelled":
                error = cancelled_error(name)
            else:
                error = classify_exception(value, self.classifiers, meta)
            if estimator is _FALLBACK:
                actual = estimate.worst
            else:
                actual = self._actual(estimator, meta, params, output, estimate, config, error)
            ledger.settle(held, actual)
            total = total + actual if total is not _ZERO else actual
            record = None
            if scope.record:
                record = AttemptRecord(
                    attempt,
                    skill_clock.readings,
                    writer.writes,
                    None if error is None else error.code.value,
                )
                scope.attempts.append(record)
            if error is None or not error.retryable or attempt >= max_attempts or status == "cancelled":
                return output, error, total, attempt
            delay = self._retry_delay(error, scope.step_id, attempt)
            left = ledger.remaining_wall_ms(clock.monotonic())
            if delay is None or (left is not None and delay * 1000.0 >= left):
                return output, error, total, attempt
            if record is not None:
                record.delay_ms = round(delay * 1000.0, 3)
            if (yield from guard(Sleep(clock, delay))):
                return None, cancelled_error(name), total, attempt

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
        execute = entry.skill.execute
        clock = self.clock
        begun = clock.monotonic()
        try:
            value = execute(model, ctx)
        except asyncio.CancelledError as exc:
            return ("cancelled", exc)
        except Exception as exc:  # noqa: BLE001 - the skill's exception is classified, never raised
            return ("raised", exc)
        except SystemExit as exc:
            return ("raised", SkillExited(exc))
        if clock.monotonic() - begun > deadline_s:
            return ("timeout", None)
        return ("ok", value)

    # -- pieces ----------------------------------------------------------------------------------
    def _ask_approval(self, entry: SkillEntry, params: Any, scope: CallScope) -> Any:
        meta = entry.metadata
        if self.approve is None:
            return make_error(
                ErrorCode.PERMISSION_DENIED,
                f"{meta.name} has {meta.side_effects.value} side effects and needs approval; "
                f"grant it (--approve {meta.name}) or pass an approve callback",
                details={"rule": "policy.approval_required_for", "skill": meta.name},
            )
        request = ApprovalRequest(meta.name, meta.side_effects.value, dict(params), scope.step_id)
        answer = yield Approve(self.approve, request)
        if answer is True:
            return None
        reason = (
            f"the approver failed: {type(answer).__name__}: {answer}"
            if isinstance(answer, Exception)
            else "it was declined"
        )
        return make_error(
            ErrorCode.PERMISSION_DENIED,
            f"{meta.name} needs approval and {reason}",
            details={"rule": "policy.approval_required_for", "skill": meta.name},
        )

    def _actual(
        self,
        estimator: Any,
        meta: Any,
        params: Any,
        output: Any,
        estimate: CostEstimate,
        config: Mapping[str, Any],
        error: ErrorInfo | None,
    ) -> Cost:
        try:
            ctx = EstimateContext(at=self.clock.now(), config=config, error=error)
            cost: Cost = estimator.actual(meta, params, output, ctx)
            return cost
        except Exception:  # noqa: BLE001 - an estimator that cannot price the call is charged its worst case
            return estimate.worst

    def _retry_delay(self, error: ErrorInfo, step_id: str, attempt: int) -> float | None:
        """Backoff with jitter, or the server's Retry-After; None when that is longer than allowed."""
        retry = self.policy.retry
        if error.retry_after_ms is not None and error.retry_after_ms > retry.max_retry_after_ms:
            return None
        cap = min(retry.max_delay_ms, retry.base_delay_ms * 2 ** (attempt - 1)) / 1000.0
        rng = seeded_random(self.seed, step_id, attempt, "retry")
        delay = cap / 2 + rng.uniform(0, cap / 2)
        if error.retry_after_ms is not None:
            delay = max(delay, error.retry_after_ms / 1000.0)
        return delay

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
        if cost.currency != self.ledger.contract.currency and not cost.money:
            cost = cost.model_copy(update={"currency": self.ledger.contract.currency})
        outcome = trusted(
            StructuredOutcome,
            {
                "ok": error is None,
                "output": output if error is None else None,
                "error": error,
                "skill": name,
                "skill_version": version,
                "cost": cost,
                "duration_ms": round(max(0.0, self.clock.monotonic() - started) * 1000.0, 3),
                "attempts": attempts,
                "trace_id": scope.trace_id,
                "step_id": scope.step_id,
            },
        )
        self.on_outcome(outcome)
        return outcome
