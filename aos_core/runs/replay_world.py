"""The world a replay runs in: each step's recording, served back to the one pipeline.

`ReplayWorld` answers the pipeline from a step's record (see `aos_core.execution.world` for what
a world is asked); `ReplayMemory` answers a re-executed skill's `ctx.memory` from the attempt's
memory log, never the live store. `aos_core.runs.replay` drives the replay and compares.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aos_core.contracts.cost import Cost, CostWarning
from aos_core.contracts.errors import ErrorInfo
from aos_core.contracts.runs import Divergence
from aos_core.execution.clock import ReplayClock
from aos_core.execution.context import Context
from aos_core.execution.memory import item_args, list_args, put_args, result_of, search_args
from aos_core.execution.prepared import PreparedSkill
from aos_core.execution.records import AttemptRecord, CallRecord, attempt_record
from aos_core.execution.secrets import MissingSecret, SecretStore, resolve_secrets
from aos_core.execution.state import RunState
from aos_core.execution.world import Admission
from aos_core.memory import inputs
from aos_core.runs.trace import canonical_json, same_json

if TYPE_CHECKING:
    from aos_core.execution.pipeline import CallScope, Executor

__all__ = ["Diverged", "ReplayMemory", "ReplayWorld"]


class Diverged(Exception):
    """The replay stopped matching its recording (internal: becomes a `ReplayResult`)."""

    def __init__(self, divergence: Divergence) -> None:
        super().__init__(divergence.reason)
        self.divergence = divergence


class _StandIns(SecretStore):
    """The replay's secrets: the real ones where set, a stand-in text where not."""

    def __init__(self, real: SecretStore) -> None:
        super().__init__({})
        self.real = real
        self.used = False

    def get(self, name: str) -> str:
        try:
            return self.real.get(name)
        except MissingSecret:
            self.used = True
            return f"[replay: secret {name} not available]"


class ReplayMemory:
    """`ctx.memory` in a replay: every operation is answered from the attempt's recorded log, in
    order, never from the live store. An operation other than the one recorded (another key,
    another query) is a divergence at this step, reported once the skill returns."""

    def __init__(self, recorded: list[dict[str, Any]], redact: Callable[[Any], Any]) -> None:
        self.recorded = recorded
        self.redact = redact
        self.log: list[dict[str, Any]] = []
        self.pending: list[Any] = []  # a replay writes nothing
        self.diverged: str | None = None
        self._next = 0

    def _serve(self, op: str, args: dict[str, Any], nothing: Any) -> Any:
        if self.diverged is not None:
            return nothing
        if self._next >= len(self.recorded):
            self.diverged = f"used memory ({op}) more often than recorded ({len(self.recorded)})"
            return nothing
        entry = self.recorded[self._next]
        self._next += 1
        if entry.get("op") != op or not same_json(entry.get("args"), self.redact(args)):
            self.diverged = f"asked memory {op} {canonical_json(self.redact(args))[:200]} where the run asked " + (
                f"{entry.get('op')} {canonical_json(entry.get('args'))[:200]}"
            )
            return nothing
        self.log.append(entry)
        return result_of(op, entry.get("result"))

    def put(self, namespace: Any, key: Any, value: Any, ttl: float | None = None) -> Any:
        labels, key = inputs.check_namespace(namespace), inputs.check_key(key)
        return self._serve("put", put_args(labels, key, value, ttl), None)

    def delete(self, namespace: Any, key: Any) -> Any:
        labels, key = inputs.check_namespace(namespace), inputs.check_key(key)
        return self._serve("delete", item_args(labels, key), False)

    def get(self, namespace: Any, key: Any) -> Any:
        labels, key = inputs.check_namespace(namespace), inputs.check_key(key)
        return self._serve("get", item_args(labels, key), None)

    def search(
        self, namespace_prefix: Any = (), query: str | None = None, filter: Any = None, limit: int = 10, offset: int = 0
    ) -> Any:
        return self._serve("search", search_args(namespace_prefix, query, filter, limit, offset), [])

    def list_namespaces(
        self, prefix: Any = None, max_depth: int | None = None, limit: int = 100, offset: int = 0
    ) -> Any:
        return self._serve("list_namespaces", list_args(prefix, max_depth, limit, offset), [])

    def finish(self) -> str | None:
        """Why the skill's memory use differs from the recording, or None."""
        if self.diverged is None and self._next < len(self.recorded):
            self.diverged = f"used memory {self._next} times, recorded {len(self.recorded)}"
        return self.diverged


class ReplayWorld:
    """One recorded step, served back to the pipeline; see the module docstring."""

    def __init__(self, step_id: str, record: dict[str, Any], state: RunState, reexecuted: set[str]) -> None:
        self.step_id = step_id
        self.recorded = record
        self.attempts: list[dict[str, Any]] = list(record.get("attempts") or [])
        self.outcome: dict[str, Any] = record["outcome"]
        self.state = state
        self.record = CallRecord()
        self.serve_only = False  # True when the skill must not run again (a secret stood in)
        self.reexecuted = reexecuted
        self._ran: set[int] = set()  # attempts whose skill really ran again

    def _diverged(self, reason: str, recorded: Any = None, actual: Any = None) -> Diverged:
        return Diverged(Divergence(step_id=self.step_id, reason=reason, recorded=recorded, actual=actual))

    def started(self, ex: Executor) -> float:
        return 0.0

    def elapsed_ms(self, ex: Executor, started: float) -> float:
        return float(self.outcome.get("duration_ms") or 0.0)

    def bind(self, ex: Executor, scope: CallScope, params: Any) -> Any:
        try:
            return scope.bind(ex.secrets) if scope.bind is not None else resolve_secrets(params, ex.secrets)
        except MissingSecret as missing:
            error = self.outcome.get("error") or {}
            if error.get("code") == "INVALID_INPUT" and (error.get("details") or {}).get("secret") == missing.name:
                raise  # the run did not have it either
            stand_ins = _StandIns(ex.secrets)
            self.serve_only = True
            return scope.bind(stand_ins) if scope.bind is not None else resolve_secrets(params, stand_ins)

    async def approval(self, ex: Executor, prep: PreparedSkill, params: Any, scope: CallScope) -> ErrorInfo | None:
        granted = self.recorded.get("approval")
        if granted is None:
            raise self._diverged("the step now needs an approval, which the recorded run did not ask for")
        self.record.approval = granted
        return None if granted else self._served_error()

    async def admit(
        self, ex: Executor, prep: PreparedSkill, params: Any, attempt: int, idempotent: bool, scope: CallScope
    ) -> Admission | ErrorInfo:
        if attempt > len(self.attempts):
            if (
                attempt == len(self.attempts) + 1
                and not self.outcome["ok"]
                and self.outcome.get("attempts") == attempt - 1
            ):
                return self._served_error()  # refused before this attempt ran (budget, rate limit, price)
            raise self._diverged(f"the step makes attempt {attempt}; the recording has {len(self.attempts)}")
        served = self.attempts[attempt - 1]
        recorded_deadline = float(served.get("deadline_ms", 0.0)) / 1000.0
        deadline, wall_bound = prep.timeout_s, False
        if recorded_deadline < deadline:  # the wall-time budget set the deadline then
            deadline, wall_bound = recorded_deadline, True
        worst = Cost.model_validate(served.get("cost") or {})
        return Admission((), worst, deadline, wall_bound, float(served.get("waited_ms", 0.0)))

    def context(
        self, ex: Executor, prep: PreparedSkill, attempt: int, admitted: Admission, scope: CallScope
    ) -> Context:
        served = self.attempts[attempt - 1]
        recorded_memory = list(served.get("memory") or [])
        return Context(
            ReplayClock(list(served.get("clock") or [])),
            ex.secrets,
            ex.policy,
            self.state,
            prep.config,
            scope.step_id,
            attempt,
            admitted.deadline_s * 1000.0,
            ex.pool,
            ex.seed,
            lambda: ReplayMemory(recorded_memory, ex.secrets.redact),
        )

    def _reexecutes(self, prep: PreparedSkill) -> bool:
        return prep.meta.deterministic and not self.serve_only

    async def invoke(
        self, ex: Executor, prep: PreparedSkill, model: Any, ctx: Context, admitted: Admission, scope: CallScope
    ) -> tuple[Any, ErrorInfo | None]:
        served = self.attempts[ctx.attempt - 1]
        last = ctx.attempt == len(self.attempts)
        served_error = served.get("error")
        served_output = self.outcome.get("output") if last and self.outcome["ok"] else None
        if not self._reexecutes(prep):
            self.state.apply(served.get("state_writes") or {})
            return served_output, None if served_error is None else ErrorInfo.model_validate(served_error)
        output, error = ex.judge(prep, await ex.run_skill(prep, model, ctx, admitted.deadline_s, scope.waits), admitted)
        # what the skill read first (its clock, its memory): a different read explains a different result
        memory = ctx.used_memory()
        recorded_memory = served.get("memory") or []
        for problem in (
            ctx.clock.finish(),
            memory.finish() if memory is not None else None,
            f"used memory 0 times, recorded {len(recorded_memory)}" if memory is None and recorded_memory else None,
        ):
            if problem:
                raise self._diverged(f"the skill {problem}")
        expected = {"ok": served_error is None, "output": served_output, "error": (served_error or {}).get("code")}
        # the recording holds the output as the outcome showed it, redacted: compare it so
        actual = {
            "ok": error is None,
            "output": ex.secrets.redact(output),
            "error": None if error is None else error.code.value,
        }
        if not same_json(actual, expected):
            raise self._diverged("the skill now produces a different result", ex.secrets.redact(expected), actual)
        self._ran.add(ctx.attempt)
        self.reexecuted.add(scope.step_id)
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
        warning = self.outcome.get("cost_warning")
        last = len(self.record.attempts) + 1 == len(self.attempts)
        return admitted.worst, CostWarning.model_validate(warning) if warning and last else None

    def may_wait(self, ex: Executor, delay: float, attempt: int, scope: CallScope) -> bool:
        return attempt <= len(self.attempts) and self.attempts[attempt - 1].get("delay_ms") is not None

    async def sleep(self, ex: Executor, delay: float, scope: CallScope) -> None:
        """A replay never sleeps: the delay is in the record, compared with the recorded one."""

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
        record: AttemptRecord = attempt_record(ex, ctx, admitted, error, cost, delay, idempotent)
        if ctx.attempt not in self._ran:  # served: what the skill read and wrote is the recording's
            served = self.attempts[ctx.attempt - 1]
            record.clock = list(served.get("clock") or [])
            record.state_writes = served.get("state_writes") or {}
            record.memory = list(served.get("memory") or [])
        self.record.attempts.append(record)

    def _served_error(self) -> ErrorInfo:
        return ErrorInfo.model_validate(self.outcome["error"])
