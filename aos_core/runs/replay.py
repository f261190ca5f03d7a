"""Replay: the run engine and the pipeline again, in a world that serves the recording.

A replay runs the recorded plan through the same `RunEngine` and the same pipeline as the run.
Its `ReplayWorld` answers, from each step's record, what the live world measured or was told:
durations, clock readings, rate-limit waits, approvals, reservation refusals, the deadline's
wall-time part, costs, whether there was time to retry, and the results of skills that are not
deterministic. Everything else is computed again: bound parameters, input validation, policy
verdicts and timeouts, per-call idempotency, retry decisions and seeded delays, the result of
every deterministic skill (re-executed on the recorded clock readings, seed and state), the
outcome, the spend and the end record. Each replayed step record is rebuilt from what the replay
computed and compared with the recorded line; the first difference stops the replay with
`NON_DETERMINISTIC` naming the step and the field. A replay spends nothing, never sleeps and
never calls a skill that is not deterministic. Secrets the replay does not have are replaced by
stand-ins, and a step that needed one is served from the recording, never re-executed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aos_core.budget.account import Account
from aos_core.contracts.cost import Cost, CostWarning
from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.exceptions import RunNotFinished, TraceError
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import Plan, PlanStep
from aos_core.contracts.profile import Policy
from aos_core.contracts.resources import ResourceContract
from aos_core.contracts.runs import Divergence, ReplayResult, RunStatus
from aos_core.execution.calling import Waits
from aos_core.execution.clock import ReplayClock, VirtualClock
from aos_core.execution.context import Context
from aos_core.execution.prepared import PreparedSkill
from aos_core.execution.secrets import MissingSecret, SecretStore, resolve_secrets
from aos_core.execution.state import RunState
from aos_core.execution.world import Admission, AttemptRecord, CallRecord, attempt_record
from aos_core.runs.engine import Observer, RunEngine
from aos_core.runs.store import RunStore
from aos_core.runs.trace import TRACE_FORMAT, TraceDocument, canonical_json, first_difference, same_json

if TYPE_CHECKING:
    from aos_core.execution.pipeline import CallScope, Executor

__all__ = ["ComparingSink", "Diverged", "ReplayWorld", "replay_source", "replay_trace"]


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


class ReplayWorld:
    """One recorded step, served back to the pipeline; see the module docstring."""

    def __init__(self, step_id: str, record: dict[str, Any], state: RunState, reexecuted: list[str]) -> None:
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
        expected = {"ok": served_error is None, "output": served_output, "error": (served_error or {}).get("code")}
        # the recording holds the output as the outcome showed it, redacted: compare it so
        actual = {
            "ok": error is None,
            "output": ex.secrets.redact(output),
            "error": None if error is None else error.code.value,
        }
        if not same_json(actual, expected):
            raise self._diverged("the skill now produces a different result", ex.secrets.redact(expected), actual)
        problem = ctx.clock.finish()
        if problem:
            raise self._diverged(f"the skill {problem}")
        self._ran.add(ctx.attempt)
        if scope.step_id not in self.reexecuted:
            self.reexecuted.append(scope.step_id)
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
        self.record.attempts.append(record)

    def _served_error(self) -> ErrorInfo:
        return ErrorInfo.model_validate(self.outcome["error"])


class ComparingSink:
    """The replay's end of the engine: each record is compared with the recorded one."""

    def __init__(self, recorded: TraceDocument, header: dict[str, Any], secrets: SecretStore) -> None:
        self.recorded = recorded
        self.header = header
        self.secrets = secrets
        self.lines: dict[str, str] = {}
        self.end: dict[str, Any] | None = None

    def _diverged(self, step_id: str | None, reason: str, recorded: Any = None, actual: Any = None) -> Diverged:
        redact = self.secrets.redact
        return Diverged(Divergence(step_id=step_id, reason=reason, recorded=redact(recorded), actual=redact(actual)))

    def starting(self, step: PlanStep, params: Any) -> None:
        record = self.recorded.steps.get(step.id)
        if record is None:
            raise self._diverged(step.id, "this step is not in the recording")
        if record.get("skill") != step.skill:
            raise self._diverged(step.id, "the step calls another skill", record.get("skill"), step.skill)
        if not same_json(params, record.get("params")):
            raise self._diverged(
                step.id, "the step gets different parameters than recorded", record.get("params"), params
            )

    def event(self, event: dict[str, Any]) -> None:
        """A replay keeps no events."""

    def wait_for_approval(self, step_id: str, request: dict[str, Any]) -> None:
        raise self._diverged(step_id, "the step now waits for an approval; the recorded run did not")

    def commit(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            step_id = record["id"]
            line = canonical_json(record)
            recorded = self.recorded.steps.get(step_id)
            if recorded is None:
                raise self._diverged(step_id, "this step is not in the recording")
            if line != (self.recorded.raw_steps.get(step_id) or canonical_json(recorded)):
                found = first_difference(recorded, record)
                where, was, now = found if found is not None else ("(its canonical form)", None, None)
                raise self._diverged(step_id, f"the step's record differs at {where}", was, now)
            self.lines[step_id] = line

    def finish(self, status: RunStatus, end: dict[str, Any] | None) -> None:
        recorded_end = self.recorded.end
        extra = [s for s in self.recorded.step_order() if s not in self.lines]
        if extra:
            raise self._diverged(extra[0], "the recorded run has this step, the replay did not run it")
        if end is None or recorded_end is None:
            raise self._diverged(None, f"the replay ended {status}, the recording did not")
        found = first_difference(recorded_end, end)
        if found is not None:
            where, was, now = found
            raise self._diverged(None, f"the run ends differently at {where}", was, now)
        self.end = end

    def text(self, order: list[str]) -> str:
        """The replayed trace, from the replayed lines."""
        lines = [canonical_json(self.header), *(self.lines[s] for s in order if s in self.lines)]
        if self.end is not None:
            lines.append(canonical_json(self.end))
        return "".join(line + "\n" for line in lines)

    def sha256(self, order: list[str]) -> str:
        return hashlib.sha256(self.text(order).encode("utf-8")).hexdigest()


def outcome_of(record: dict[str, Any], run_id: str | None) -> StructuredOutcome:
    return StructuredOutcome.model_validate({**record["outcome"], "trace_id": run_id})


def replay_source(
    source: str | Path | TraceDocument, store: Callable[[], RunStore]
) -> tuple[TraceDocument, str | None]:
    """A trace from a document, a JSON Lines file, or a run id in the store."""
    if isinstance(source, TraceDocument):
        return source, None
    path = Path(source)
    if path.suffix in {".jsonl", ".json", ".trace"} or path.is_file():
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise TraceError(f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise TraceError(f"{path} is not a text file (not UTF-8), so not an AOS trace") from None
        return TraceDocument.parse(text, str(path)), None
    stored = store().load_run(str(source))
    return stored.trace, stored.run_id


async def replay_trace(
    trace: TraceDocument,
    run_id: str | None,
    plan: Plan | Any | None,
    *,
    make_executor: Callable[..., Executor],
    waits: Waits,
    observers: tuple[Observer, ...] = (),
) -> ReplayResult:
    """Replay `trace` (with `plan` instead of the recorded one, when given); `observers` hear
    its events as a run's do."""
    header = trace.header
    if header.get("format") != TRACE_FORMAT:
        raise TraceError(
            f"trace format {header.get('format')!r}: recorded by an older AOS, which this one cannot replay"
        )
    if trace.end is None:
        which = f"run {run_id}" if run_id else "the trace"
        raise RunNotFinished(f"{which} never finished (it was interrupted or is still running); resume it first")
    try:
        chosen = plan if isinstance(plan, Plan) else Plan.model_validate(plan if plan is not None else header["plan"])
        contract = ResourceContract.model_validate(header["contract"])
        policy = Policy.model_validate(header["policy"])
    except ValueError as exc:
        raise TraceError(f"the trace's header is not valid: {' '.join(str(exc).split())[:300]}") from None
    executor = make_executor(policy, int(header["seed"]), VirtualClock())
    private = contract.model_copy(update={"id": None})  # a replay never touches a shared budget
    account = Account(private, 0.0)
    replayed_header = header if plan is None else {**header, "plan": chosen.model_dump(mode="json")}
    sink = ComparingSink(trace, replayed_header, executor.secrets)
    reexecuted: list[str] = []
    engine = RunEngine(
        run_id=run_id or "",
        plan=chosen,
        executor=executor,
        accounts=(account,),
        sink=sink,
        waits=waits,
        world_for=lambda step_id, state: _replay_world(trace, step_id, state, reexecuted),
        in_flight_limit=contract.max_concurrency or 64,
        currency=contract.currency,
        observers=observers,
    )
    for step_id, record in trace.steps.items():
        if record.get("lost"):  # attempts lost in a crash: facts of the run, like its durations
            engine.lost[step_id] = list(record["lost"])
    order = [step.id for step in chosen.steps]
    try:
        await engine.run()
    except Diverged as diverged:
        return _replay_result(engine, run_id, reexecuted, diverged, None)
    if plan is None and sink.text(order) != trace.text():
        whole = Diverged(Divergence(step_id=None, reason="the replayed trace is not byte for byte the recorded one"))
        return _replay_result(engine, run_id, reexecuted, whole, None)
    return _replay_result(engine, run_id, reexecuted, None, sink.sha256(order))


def _replay_world(trace: TraceDocument, step_id: str, state: RunState, reexecuted: list[str]) -> ReplayWorld:
    return ReplayWorld(step_id, trace.steps[step_id], state, reexecuted)


def _replay_result(
    engine: RunEngine, run_id: str | None, reexecuted: list[str], diverged: Diverged | None, sha: str | None
) -> ReplayResult:
    error = None
    divergence = None if diverged is None else diverged.divergence
    if divergence is not None:
        where = f"step {divergence.step_id}: " if divergence.step_id else ""
        error = make_error(
            ErrorCode.NON_DETERMINISTIC,
            f"replay diverged at {where}{divergence.reason}",
            details={"step": divergence.step_id, "recorded": divergence.recorded, "actual": divergence.actual},
        )
    ordered = {s.id: engine.outcomes[s.id] for s in engine.plan.steps if s.id in engine.outcomes}
    again = set(reexecuted)
    return ReplayResult(
        matched=divergence is None,
        run_id=run_id,
        error=error,
        divergence=divergence,
        outcomes=ordered,
        state=engine.executor.secrets.redact(engine.state.snapshot()),  # it leaves the core
        spent=engine.spent,
        reexecuted=tuple(s for s in engine.order if s in again),
        trace_sha256=sha,
    )
