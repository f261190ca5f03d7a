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
import itertools
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from aos_core.budget.account import Account
from aos_core.contracts.errors import ErrorCode, make_error
from aos_core.contracts.exceptions import RunNotFinished, TraceError
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import Plan, PlanStep
from aos_core.contracts.profile import Policy
from aos_core.contracts.resources import ResourceContract
from aos_core.contracts.runs import Divergence, ReplayResult, RunStatus
from aos_core.execution.calling import Waits
from aos_core.execution.clock import VirtualClock
from aos_core.execution.secrets import SecretStore
from aos_core.runs.engine import Observer, RunEngine
from aos_core.runs.replay_world import Diverged, ReplayWorld
from aos_core.runs.store import RunStore
from aos_core.runs.trace import (
    TRACE_FORMAT,
    TraceDocument,
    canonical_json,
    first_difference,
    recorded_outcome,
    same_json,
)

if TYPE_CHECKING:
    from aos_core.execution.pipeline import Executor

__all__ = ["ComparingSink", "Diverged", "replay_source", "replay_trace"]


class ComparingSink:
    """The replay's end of the engine: each record is compared with the recorded one."""

    def __init__(
        self, recorded: TraceDocument, header_line: str, secrets: SecretStore, run_id: str | None = None
    ) -> None:
        self.recorded = recorded
        self.run_id = run_id
        self.header_line = header_line  # the replayed header's canonical line
        self.secrets = secrets
        self.matched: set[str] = set()  # steps whose replayed line is the recorded one
        self.open: dict[str, dict[str, Any]] = {}  # records of the steps in flight, parsed once
        self.end: dict[str, Any] | None = None

    def _diverged(self, step_id: str | None, reason: str, recorded: Any = None, actual: Any = None) -> Diverged:
        redact = self.secrets.redact
        return Diverged(Divergence(step_id=step_id, reason=reason, recorded=redact(recorded), actual=redact(actual)))

    def starting(self, step: PlanStep, params: Any) -> None:
        record = self.recorded.steps.get(step.id)
        if record is None:
            raise self._diverged(step.id, "this step is not in the recording")
        self.open[step.id] = record
        if record.get("skill") != step.skill:
            raise self._diverged(step.id, "the step calls another skill", record.get("skill"), step.skill)
        if not same_json(params, record.get("params")):
            raise self._diverged(
                step.id, "the step gets different parameters than recorded", record.get("params"), params
            )

    def event(self, event: dict[str, Any]) -> None:
        """A replay keeps no events."""

    def load(self, step_ids: list[str]) -> dict[str, StructuredOutcome]:
        """Replayed outcomes, read from the recording when asked for (`commit` found them equal)."""
        return {step_id: recorded_outcome(self.recorded.steps[step_id], self.run_id) for step_id in step_ids}

    def wait_for_approval(self, step_id: str, request: dict[str, Any]) -> None:
        raise self._diverged(step_id, "the step now waits for an approval; the recorded run did not")

    def record_of(self, step_id: str) -> dict[str, Any]:
        """The recorded record of a step that started (parsed once, by `starting`)."""
        found = self.open.get(step_id)
        return found if found is not None else self.recorded.steps[step_id]

    def commit(self, records: list[dict[str, Any]]) -> None:
        steps = self.recorded.steps
        for record in records:
            step_id = record["id"]
            self.open.pop(step_id, None)
            if step_id not in steps:
                raise self._diverged(step_id, "this step is not in the recording")
            if canonical_json(record) != steps.line(step_id):
                found = first_difference(steps[step_id], record)
                where, was, now = found if found is not None else ("(its canonical form)", None, None)
                raise self._diverged(step_id, f"the step's record differs at {where}", was, now)
            self.matched.add(step_id)

    def finish(self, status: RunStatus, end: dict[str, Any] | None) -> None:
        recorded_end = self.recorded.end
        extra = [] if len(self.matched) == len(self.recorded.steps) else self.recorded.step_order()
        extra = [s for s in extra if s not in self.matched]  # (`commit` matched only recorded steps)
        if extra:
            raise self._diverged(extra[0], "the recorded run has this step, the replay did not run it")
        if end is None or recorded_end is None:
            raise self._diverged(None, f"the replay ended {status}, the recording did not")
        found = first_difference(recorded_end, end)
        if found is not None:
            where, was, now = found
            raise self._diverged(None, f"the run ends differently at {where}", was, now)
        self.end = end

    def lines(self, order: list[str]) -> Iterator[str]:
        """The replayed trace, a line at a time: its header, each replayed step line (byte for
        byte the recorded one: `commit` compared them), its end. Never joined into one text: a
        50,000-step trace joined twice was the peak of a replay's memory."""
        steps = self.recorded.steps
        yield self.header_line
        for step_id in order:
            if step_id in self.matched:
                yield steps.line(step_id)
        if self.end is not None:
            yield canonical_json(self.end)

    def same_as_recorded(self, order: list[str]) -> bool:
        """Whether the replayed trace, of the recorded plan, is byte for byte the recorded one
        (`finish` found every recorded step replayed: in the plan's order, they are its lines)."""
        recorded, steps = self.recorded, self.recorded.steps
        end = [] if recorded.end is None else [canonical_json(recorded.end)]
        lines = itertools.chain([recorded.header_line()], (steps.line(s) for s in order if s in steps), end)
        return all(a == b for a, b in itertools.zip_longest(self.lines(order), lines))

    def sha256(self, order: list[str]) -> str:
        digest = hashlib.sha256()
        for line in self.lines(order):
            digest.update(line.encode("utf-8"))
            digest.update(b"\n")
        return digest.hexdigest()


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
    recorded: _Header | None = None
    try:
        # validated from the header's line: parsed to data first, a 100,000-step plan was held
        # twice at the start of a replay, as data and as the `Plan` (~0.6 KiB a step, bench case 6)
        recorded = _Header.model_validate_json(trace.header_line())
        found = recorded.format
    except ValueError as exc:
        invalid = f"the trace's header is not valid: {' '.join(str(exc).split())[:300]}"
        found = trace.header.get("format")
    if found != TRACE_FORMAT:
        raise TraceError(f"trace format {found!r}: recorded by an older AOS, which this one cannot replay")
    if trace.end is None:
        which = f"run {run_id}" if run_id else "the trace"
        raise RunNotFinished(f"{which} never finished (it was interrupted or is still running); resume it first")
    if recorded is None:
        raise TraceError(invalid)
    try:
        chosen = recorded.plan if plan is None else plan if isinstance(plan, Plan) else Plan.model_validate(plan)
    except ValueError as exc:
        raise TraceError(f"the trace's header is not valid: {' '.join(str(exc).split())[:300]}") from None
    contract, policy = recorded.contract, recorded.policy
    executor = make_executor(policy, recorded.seed, VirtualClock())
    private = contract.model_copy(update={"id": None})  # a replay never touches a shared budget
    account = Account(private, 0.0)
    if plan is None:
        header_line = trace.header_line()
    else:
        header_line = canonical_json({**trace.header, "plan": chosen.model_dump(mode="json")})
    del recorded
    sink = ComparingSink(trace, header_line, executor.secrets, run_id or "")
    reexecuted: set[str] = set()
    engine = RunEngine(
        run_id=run_id or "",
        plan=chosen,
        executor=executor,
        accounts=(account,),
        sink=sink,
        waits=waits,
        world_for=lambda step_id, state: ReplayWorld(step_id, sink.record_of(step_id), state, reexecuted),
        in_flight_limit=contract.max_concurrency or 64,
        currency=contract.currency,
        observers=observers,
    )
    for step_id in trace.steps:
        if '"lost":[{' in trace.steps.line(step_id):  # cheap: only such lines are parsed
            record = sink.record_of(step_id)
            if record.get("lost"):  # attempts lost in a crash: facts of the run, like its durations
                engine.lost[step_id] = list(record["lost"])
    order = [step.id for step in chosen.steps]
    try:
        await engine.run()
    except Diverged as diverged:
        return _replay_result(engine, run_id, reexecuted, diverged, None)
    if plan is None and not sink.same_as_recorded(order):
        whole = Diverged(Divergence(step_id=None, reason="the replayed trace is not byte for byte the recorded one"))
        return _replay_result(engine, run_id, reexecuted, whole, None)
    return _replay_result(engine, run_id, reexecuted, None, sink.sha256(order))


class _Header(BaseModel):
    """What a replay reads from a run header."""

    model_config = ConfigDict(extra="ignore")

    format: Any = None
    plan: Plan
    contract: ResourceContract
    policy: Policy
    seed: int


def _replay_result(
    engine: RunEngine, run_id: str | None, reexecuted: set[str], diverged: Diverged | None, sha: str | None
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
    return ReplayResult(
        matched=divergence is None,
        run_id=run_id,
        error=error,
        divergence=divergence,
        outcomes=engine.outcomes,
        state=engine.executor.secrets.redact(engine.state.snapshot()),  # it leaves the core
        spent=engine.spent,
        reexecuted=tuple(s for s in engine.order if s in reexecuted),
        trace_sha256=sha,
    )
