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

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict
from pydantic_core import from_json

from aos_core.budget.account import Account
from aos_core.contracts.errors import ErrorCode, make_error
from aos_core.contracts.exceptions import RunNotFinished, TraceError
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import Plan, PlanStep, steps_validated
from aos_core.contracts.plan_steps import step_ids
from aos_core.contracts.plan_text import data_with_steps
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
    plan_order,
    recorded_outcome,
    same_json,
)

if TYPE_CHECKING:
    from aos_core.execution.pipeline import Executor

__all__ = ["ComparingSink", "Diverged", "RecordedLines", "Recording", "replay_source", "replay_trace"]


@dataclass(frozen=True, slots=True)
class Recording:
    """What a replay reads of a recorded run: `trace`, its header and end (from a store, without
    its step records), `read`, the canonical lines of given steps (those recorded), `count`, how
    many steps are recorded, and `ids`, their ids."""

    trace: TraceDocument
    read: Callable[[list[str]], dict[str, str]]
    count: Callable[[], int]
    ids: Callable[[], list[str]]

    @classmethod
    def of(cls, trace: TraceDocument) -> Recording:
        """A whole trace held in memory (a file, a document)."""
        steps = trace.steps
        return cls(trace, lambda ids: {s: steps.line(s) for s in ids if s in steps}, steps.__len__, lambda: list(steps))


class RecordedLines:
    """The recording's step lines, read as the replay reaches them: a chunk of steps at a time in
    the replayed plan's order, each line dropped once its step is committed (a replay that held
    every recorded line peaked at 266 MiB for 100,000 steps). The lines are hashed as they are
    read: once every recorded line matched, in plan order they are the replayed trace's."""

    CHUNK = 500

    def __init__(self, read: Callable[[list[str]], dict[str, str]], order: list[str], header_line: str) -> None:
        self.read = read
        self.order = order
        self.window: dict[str, str | None] = {}  # read and not committed yet; None: not recorded
        self.next = 0  # `order[:next]` was read
        self.digest = hashlib.sha256()
        self._hash(header_line)

    def _hash(self, line: str) -> None:
        self.digest.update(line.encode("utf-8"))
        self.digest.update(b"\n")

    def get(self, step_id: str) -> str | None:
        """The step's recorded line (None: it has none), reading the plan's steps up to it."""
        while step_id not in self.window and self.next < len(self.order):
            chunk = self.order[self.next : self.next + self.CHUNK]
            self.next += len(chunk)
            found = self.read(chunk)
            for one in chunk:
                line = self.window[one] = found.get(one)
                if line is not None:
                    self._hash(line)
        return self.window.get(step_id)

    def pop(self, step_id: str) -> str | None:
        """The step's recorded line, dropped from the window."""
        line = self.get(step_id)
        if line is not None:
            del self.window[step_id]
        return line

    def rest(self) -> set[str]:
        """Read to the plan's end: the recorded steps read and not committed."""
        if self.order:
            self.get(self.order[-1])
        return {step_id for step_id, line in self.window.items() if line is not None}


class ComparingSink:
    """The replay's end of the engine: each record is compared with the recorded one, read from
    the recording when the step starts (or commits) and dropped once compared."""

    def __init__(
        self, recording: Recording, header_line: str, secrets: SecretStore, run_id: str, order: list[str]
    ) -> None:
        self.recording = recording
        self.run_id = run_id
        self.header_line = header_line  # the replayed header's canonical line
        self.secrets = secrets
        self.recorded = RecordedLines(recording.read, order, header_line)
        self.matched = 0  # steps whose replayed line is the recorded one
        self.open: dict[str, dict[str, Any]] = {}  # records of the steps in flight, parsed once
        self.lost: dict[str, list[dict[str, Any]]] = {}  # the engine's: attempts lost in the recorded run's crash
        self.end: dict[str, Any] | None = None

    def _diverged(self, step_id: str | None, reason: str, recorded: Any = None, actual: Any = None) -> Diverged:
        redact = self.secrets.redact
        return Diverged(Divergence(step_id=step_id, reason=reason, recorded=redact(recorded), actual=redact(actual)))

    def starting(self, step: PlanStep, params: Any) -> None:
        line = self.recorded.get(step.id)
        if line is None:
            raise self._diverged(step.id, "this step is not in the recording")
        record: dict[str, Any] = from_json(line)
        self.open[step.id] = record
        if record.get("lost"):  # attempts lost in a crash: facts of the run, like its durations
            self.lost[step.id] = list(record["lost"])
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
        lines = self.recording.read(step_ids)
        return {step_id: recorded_outcome(from_json(lines[step_id]), self.run_id) for step_id in step_ids}

    def wait_for_approval(self, step_id: str, request: dict[str, Any]) -> None:
        raise self._diverged(step_id, "the step now waits for an approval; the recorded run did not")

    def record_of(self, step_id: str) -> dict[str, Any]:
        """The recorded record of a step that started (parsed once, by `starting`)."""
        return self.open[step_id]

    def commit(self, records: list[dict[str, Any]]) -> None:
        for record in records:
            step_id = record["id"]
            self.open.pop(step_id, None)
            line = self.recorded.pop(step_id)
            if line is None:
                raise self._diverged(step_id, "this step is not in the recording")
            if canonical_json(record) != line:
                _missing_skill(step_id, record, from_json(line), self._diverged)
                found = first_difference(from_json(line), record)
                where, was, now = found if found is not None else ("(its canonical form)", None, None)
                raise self._diverged(step_id, f"the step's record differs at {where}", was, now)
            self.matched += 1

    def finish(self, status: RunStatus, end: dict[str, Any] | None) -> None:
        recorded_end = self.recording.trace.end
        left = self.recorded.rest()  # recorded steps of the plan that the replay did not commit
        if left or self.matched != self.recording.count():  # (`commit` matched only recorded steps, each once)
            ids = self.recording.ids()
            planned = set(self.recorded.order)
            extra = plan_order(self.recording.trace.plan, [s for s in ids if s in left or s not in planned])
            raise self._diverged(extra[0], "the recorded run has this step, the replay did not run it")
        if end is None or recorded_end is None:
            raise self._diverged(None, f"the replay ended {status}, the recording did not")
        found = first_difference(recorded_end, end)
        if found is not None:
            where, was, now = found
            raise self._diverged(None, f"the run ends differently at {where}", was, now)
        self.end = end

    def same_as_recorded(self) -> bool:
        """Whether the replayed trace, of the recorded plan, is byte for byte the recorded one:
        its step lines are (`commit` compared each with the recorded one and `finish` found every
        recorded step replayed), so whether its header and end lines are."""
        recorded = self.recording.trace
        recorded_end = None if recorded.end is None else canonical_json(recorded.end)
        replayed_end = None if self.end is None else canonical_json(self.end)
        return self.header_line == recorded.header_line() and replayed_end == recorded_end

    def sha256(self) -> str:
        """The replayed trace's sha256: the recorded lines as read (`finish` found each replayed
        line equal to its recorded one, and every recorded one replayed), then the end line."""
        digest = self.recorded.digest.copy()
        if self.end is not None:
            digest.update(canonical_json(self.end).encode("utf-8"))
            digest.update(b"\n")
        return digest.hexdigest()


def _missing_skill(
    step_id: str, record: dict[str, Any], was: dict[str, Any], diverged: Callable[..., Diverged]
) -> None:
    """A step whose skill is not here now, though it was in the run: say so (the first difference
    alone was "the step's record differs at attempts (length)")."""
    now = record.get("outcome") or {}
    before = was.get("outcome") or {}
    if (now.get("error") or {}).get("code") != "SKILL_NOT_FOUND":
        return
    if (before.get("error") or {}).get("code") == "SKILL_NOT_FOUND":
        return
    skill, version = record.get("skill"), before.get("skill_version")
    raise diverged(
        step_id,
        f"skill {skill!r} is not installed here (or is switched off): SKILL_NOT_FOUND; "
        f"install the version the run used ({version}) to replay it",
        version,
        None,
    )


def replay_source(source: str | Path | TraceDocument, store: Callable[[], RunStore]) -> tuple[Recording, str | None]:
    """A recording from a document, a JSON Lines file, or a run id in the store (whose step
    lines are read as the replay reaches them)."""
    if isinstance(source, TraceDocument):
        return Recording.of(source), None
    path = Path(source)
    if path.suffix in {".jsonl", ".json", ".trace"} or path.is_file():
        try:
            text = path.read_bytes().decode("utf-8")
        except OSError as exc:
            raise TraceError(f"cannot read {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            raise TraceError(f"{path} is not a text file (not UTF-8), so not an AOS trace") from None
        return Recording.of(TraceDocument.parse(text, str(path))), None
    runs = store()
    stored = runs.load_run(str(source), steps=False)
    run_id = stored.run_id
    partial = functools.partial
    recording = Recording(
        stored.trace,
        partial(runs.step_records, run_id),
        partial(runs.step_count, run_id),
        partial(runs.step_ids, run_id),
    )
    return recording, run_id


async def replay_trace(
    recording: Recording,
    run_id: str | None,
    plan: Plan | Any | None,
    *,
    make_executor: Callable[..., Executor],
    waits: Waits,
    observers: tuple[Observer, ...] = (),
) -> ReplayResult:
    """Replay `recording` (with `plan` instead of the recorded one, when given); `observers` hear
    its events as a run's do."""
    trace = recording.trace
    recorded: _Header | None = None
    try:
        # the plan's steps read from the line and validated one at a time (plan_text.py), else
        # validated one at a time as their data is dropped (`steps_validated`): the whole line
        # validated at once held pydantic-core's parsed document beside the plan, and the whole
        # line parsed first was 55 MiB of data for 100,000 steps
        line = trace.header_line()
        header = data_with_steps(line, ("plan", "steps"))
        if header is None:
            header = from_json(line)
            if isinstance(header, dict):
                steps_validated(header.get("plan"))
        del line
        recorded = _Header.model_validate(header)
        del header
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
    sink = ComparingSink(recording, header_line, executor.secrets, run_id or "", list(step_ids(chosen.steps)))
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
    sink.lost = engine.lost  # filled as each step starts, from its recorded line
    try:
        await engine.run()
    except Diverged as diverged:
        return _replay_result(engine, run_id, reexecuted, diverged, None)
    if plan is None and not sink.same_as_recorded():
        whole = Diverged(Divergence(step_id=None, reason="the replayed trace is not byte for byte the recorded one"))
        return _replay_result(engine, run_id, reexecuted, whole, None)
    return _replay_result(engine, run_id, reexecuted, None, sink.sha256())


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
