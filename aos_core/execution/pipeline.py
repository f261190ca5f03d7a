"""The execution pipeline: one call of one skill, from parameters to `StructuredOutcome`.

Every call takes this one path, whoever makes it: `execute` and `aexecute`, the run engine,
resume and replay. The gates, in order, each refusing before anything is spent:

    skill found -> policy allows it -> params are an object -> secrets resolved -> params
    validate -> approval -> concurrency slots -> per attempt: [rate limit -> price -> reserve
    the worst case on every account] -> call -> judge the result -> settle the actual cost ->
    retry if the failure is retryable and repeating the call is safe

What depends on the world outside the call (the clock, an approver, the budget's verdict, the
skill's own result) is asked of the call's `World` (`world.py`): the live world does it, a
replay's world serves what the recording says. How to wait (block or await) is the `Waits`
strategy (`calling.py`). Every reservation and concurrency slot is released in a `finally`, so
nothing a skill or a cancellation does can leak a hold.

The pipeline never raises for anything a call does. What propagates is the caller's own
interruption (KeyboardInterrupt, the cancellation of its task) after every hold was released.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from aos_core.budget.account import Account
from aos_core.budget.concurrency import Gate
from aos_core.budget.estimators import choose_estimators
from aos_core.contracts.cost import Cost, CostWarning
from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.outcome import StructuredOutcome, call_outcome
from aos_core.contracts.profile import Policy, RetryPolicy
from aos_core.execution.calling import Waits, call_inline
from aos_core.execution.checks import check_output, validate_input
from aos_core.execution.prepared import PreparedSkill, prepare
from aos_core.execution.resources import ResourcePool
from aos_core.execution.secrets import MissingSecret, SecretStore, TooDeep
from aos_core.execution.seeds import seeded_random
from aos_core.execution.world import Admission, World
from aos_core.failures import classify_exception
from aos_core.plugins.loader import Registry
from aos_core.policy import ApprovalRequest, may_retry

if TYPE_CHECKING:
    from aos_core.observability.instruments import CallProbe, Instruments

__all__ = ["CallScope", "Executor", "retry_delay"]


class CallScope:
    """Where one call happens: its step and trace ids, its world, how it waits, the accounts it
    is charged to, and how its literal parameters become the skill's (secrets resolved). In a
    run, `parent` is the run's span context and `traceparent` the W3C trace context a skill
    sends on (`ctx.traceparent`) when the call has no span of its own."""

    __slots__ = ("accounts", "bind", "parent", "step_id", "trace_id", "traceparent", "waits", "world")

    def __init__(
        self,
        step_id: str,
        trace_id: str | None,
        world: World,
        waits: Waits,
        accounts: tuple[Account, ...],
        bind: Callable[[SecretStore], Any] | None = None,
        parent: Any = None,
        traceparent: str | None = None,
    ) -> None:
        self.step_id = step_id
        self.trace_id = trace_id
        self.world = world
        self.waits = waits
        self.accounts = accounts
        self.bind = bind  # secrets -> what the skill gets; None: the params with `${secrets...}` resolved
        self.parent = parent
        self.traceparent = traceparent


class Executor:
    """Calls skills under one policy, with one clock, seed, secrets and pool of clients."""

    def __init__(
        self,
        *,
        registry: Registry,
        policy: Policy,
        secrets: SecretStore,
        clock: Any,
        seed: int,
        pool: ResourcePool,
        skill_config: Mapping[str, Mapping[str, Any]],
        approve: Callable[[ApprovalRequest], Any] | None,
        max_output_bytes: int,
        on_outcome: Callable[[StructuredOutcome], None] | None = None,
        memory: Callable[[], Any] | None = None,
        instruments: Instruments | None = None,
    ) -> None:
        self.registry = registry
        self.instruments = instruments  # metrics, spans and logs; None when all are off
        self.memory = memory  # the runtime's memory store (opened on first use), for ctx.memory
        self.policy = policy
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

    def prepared(self, name: str) -> PreparedSkill | None:
        """The skill `name` as this executor calls it (worked out on first use), or None if unknown."""
        prep = self._prepared.get(name)
        if prep is None:
            entry = self.registry.skills.get(name)
            if entry is None:
                return None
            prep = self._prepared[name] = prepare(
                entry, policy=self.policy, estimator=self.estimators.get(name), config=self.skill_config.get(name, {})
            )
        return prep

    # -- the call ------------------------------------------------------------------------------
    async def call(self, name: Any, params: Any, scope: CallScope) -> StructuredOutcome:
        """One call of skill `name` with `params` (as the caller wrote them: secret references
        unresolved, which is what approvals and traces see)."""
        world = scope.world
        # before the clock starts (see warm_up); the dict first: a method call costs ~0.1 µs
        prep = (self._prepared.get(name) or self.prepared(name)) if type(name) is str else None
        started = world.started(self)
        probe = None if self.instruments is None else self.instruments.call_started(name, prep, scope)
        output: Any = None
        total: Cost | None = None
        attempts = 0
        warning: CostWarning | None = None
        try:
            if prep is None:
                error: ErrorInfo | None = _not_found(name, self.registry.skills)
            elif prep.refusal is not None:
                error = prep.refusal
            else:
                model, resolved, error = self._inputs(prep, params, scope)
                if error is None and prep.approval:
                    error = await world.approval(self, prep, params, scope)
                if error is None:
                    output, error, total, attempts, warning = await self._attempts(prep, model, resolved, scope, probe)
            outcome = self._outcome(name, prep, output, error, total, attempts, warning, started, scope)
        except BaseException as exc:
            if probe is not None:
                probe.aborted(exc)  # cancelled, or paused for an approval
            raise
        if probe is not None:
            probe.ended(outcome)
        return outcome

    def _inputs(self, prep: PreparedSkill, params: Any, scope: CallScope) -> tuple[Any, Any, ErrorInfo | None]:
        """(Input model, params with secrets resolved, error)."""
        if type(params) is not dict and not isinstance(params, Mapping):
            message = f"params for {prep.name} must be a JSON object, got {type(params).__name__}"
            details = {"errors": [{"loc": "", "msg": "expected an object", "type": "type_error"}]}
            return None, None, make_error(ErrorCode.SCHEMA_VALIDATION_FAILED, message, details=details)
        try:
            resolved = scope.world.bind(self, scope, params)
        except MissingSecret as exc:
            return None, None, make_error(ErrorCode.INVALID_INPUT, f"{prep.name}: {exc}", details={"secret": exc.name})
        except TooDeep as exc:
            return None, None, make_error(ErrorCode.INVALID_INPUT, f"{prep.name}: {exc}", details={"limit": "depth"})
        model, error = validate_input(prep.validate_input, prep.name, resolved)
        return model, resolved, error

    async def _attempts(
        self, prep: PreparedSkill, model: Any, params: Any, scope: CallScope, probe: CallProbe | None
    ) -> Any:
        """(output, error, total cost, attempts made, cost warning): every attempt, inside a
        concurrency slot of every account that limits concurrency. (One coroutine for both: a
        second one per call cost ~0.3 µs of a trivial call's ~8, bench case 1.)"""
        world = scope.world
        taken: list[Gate] | None = None  # made only when an account limits concurrency
        try:
            for account in scope.accounts:
                gate = account.gate
                if gate is not None:
                    if not gate.try_acquire():
                        await scope.waits.slot(gate)
                    if taken is None:
                        taken = []
                    taken.append(gate)
            idempotent = prep.idempotent(model)
            safe = prep.safe_to_repeat or idempotent
            total: Cost | None = None
            warning: CostWarning | None = None
            attempt = 0
            while True:
                attempt += 1
                admitted = await world.admit(self, prep, params, attempt, idempotent, scope)
                if not isinstance(admitted, Admission):
                    return None, admitted, total, attempt - 1, warning
                actual: Cost | None = None
                try:
                    ctx = world.context(self, prep, attempt, admitted, scope)
                    # without spans, an attempt matters to the probe only when it waited or is retried:
                    # two calls fewer for the usual one (~0.25 µs of metrics' ~1.6, bench case 9)
                    if probe is not None and (probe.spans or admitted.waited_ms):
                        probe.attempt_started(attempt, ctx, admitted)  # its span; ctx.traceparent
                    elif scope.traceparent is not None:
                        ctx.traceparent = scope.traceparent
                    output, error = await world.invoke(self, prep, model, ctx, admitted, scope)
                    actual, charged = world.charge(self, prep, params, output, error, admitted, scope)
                finally:
                    admitted.settle(actual)  # the worst case when the call was cut short
                warning = charged or warning
                total = actual if total is None else total + actual
                delay = None
                if error is not None and may_retry(self.policy, error, attempt, safe):
                    delay = retry_delay(self.policy.retry, error, self.seed, scope.step_id, attempt)
                    if delay is not None and not world.may_wait(self, delay, attempt, scope):
                        delay = None
                world.attempted(self, ctx, admitted, error, actual, delay, idempotent, scope)
                if probe is not None and (probe.spans or delay is not None):
                    probe.attempt_ended(model, output, error, actual, delay is not None)
                if delay is None:
                    return output, error, total, attempt, warning
                await world.sleep(self, delay, scope)
        finally:
            if taken is not None:
                for gate in taken:
                    gate.release()

    # -- pieces the worlds use ----------------------------------------------------------------------
    async def run_skill(self, prep: PreparedSkill, model: Any, ctx: Any, deadline_s: float, waits: Waits) -> Any:
        """Call the skill the way its metadata says: (status, value)."""
        if prep.how == "inline":
            return call_inline(prep.execute, model, ctx, self.clock, deadline_s)
        if prep.how == "thread":
            return await waits.call_thread(prep.execute, model, ctx, deadline_s)
        return await waits.call_async(prep.execute, model, ctx, deadline_s)

    def judge(self, prep: PreparedSkill, result: Any, admitted: Admission) -> tuple[Any, ErrorInfo | None]:
        """(output, None) for a valid output, else (None, the error)."""
        status, value = result
        if status == "ok":
            return check_output(prep.validate_output, prep.name, value, self.max_output_bytes)
        if status == "timeout":
            return None, _timeout(prep.name, admitted.deadline_s, admitted.wall_bound)
        if status == "cancelled":
            return None, make_error(
                ErrorCode.CANCELLED, f"{prep.name} was cancelled before it finished", details={"reason": "cancelled"}
            )
        return None, classify_exception(value, self.classifiers, prep.meta)

    def _outcome(
        self,
        name: Any,
        prep: PreparedSkill | None,
        output: Any,
        error: ErrorInfo | None,
        total: Cost | None,
        attempts: int,
        warning: CostWarning | None,
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
        currency = scope.accounts[0].contract.currency if scope.accounts else "USD"
        if total is None or (total.currency != currency and not total.money):
            total = Cost(currency=currency) if total is None else total.model_copy(update={"currency": currency})
        outcome = call_outcome(
            output,
            error,
            name if type(name) is str else repr(name),
            prep.version if prep is not None else "",
            total,
            scope.world.elapsed_ms(self, started),
            attempts,
            scope.trace_id,
            scope.step_id,
            warning,
        )
        if self.on_outcome is not None:
            self.on_outcome(outcome)
        return outcome


def retry_delay(retry: RetryPolicy, error: ErrorInfo, seed: int, step_id: str, attempt: int) -> float | None:
    """Seconds before attempt `attempt + 1`; None when the server asks for longer than allowed.

    Exponential backoff capped at `max_delay_ms`, with jitter in its upper half drawn from the
    run's seed (so a replay waits the same), and never shorter than the error's Retry-After.
    """
    if error.retry_after_ms is not None and error.retry_after_ms > retry.max_retry_after_ms:
        return None
    cap = min(retry.max_delay_ms, retry.base_delay_ms * 2 ** (attempt - 1)) / 1000.0
    rng = seeded_random(seed, step_id, attempt, "retry")
    delay = cap / 2 + rng.uniform(0, cap / 2)
    if error.retry_after_ms is not None:
        delay = max(delay, error.retry_after_ms / 1000.0)
    return delay


def _not_found(name: Any, known_names: Iterable[str]) -> ErrorInfo:
    if type(name) is not str:
        return make_error(
            ErrorCode.INVALID_INPUT,
            f"the skill to execute must be named by a string, got {type(name).__name__}",
            details={"skill": repr(name)[:100]},
        )
    known = sorted(known_names)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known skills: {', '.join(known) or 'none'}"
    return make_error(
        ErrorCode.SKILL_NOT_FOUND,
        f"no skill named {name[:100]!r}{hint}",
        details={"skill": name[:100], "suggestions": close},
    )


def _timeout(name: str, seconds: float, wall_bound: bool) -> ErrorInfo:
    ms = round(seconds * 1000)
    if wall_bound:
        return make_error(
            ErrorCode.BUDGET_EXCEEDED,
            f"{name} was stopped after {ms} ms when the wall-time budget ran out",
            details={"limit": "max_wall_time_ms"},
        )
    return make_error(ErrorCode.TIMEOUT, f"{name} did not finish within {ms} ms", details={"timeout_ms": ms})
