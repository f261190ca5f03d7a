"""Starting, resuming and replaying runs: the glue the `Runtime` facade calls.

A run is owned by whoever holds its lease (`store.py`); the owner renews it with a heartbeat
while the engine runs and releases it when the run ends or is interrupted. Resume takes the
lease first, so two resumes of one run never both execute its steps.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aos_core.budget.account import Account
from aos_core.contracts.cost import Cost
from aos_core.contracts.errors import ErrorCode, make_error
from aos_core.contracts.exceptions import RunNotFinished, StoreError, TraceError
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import Plan, PlanProblem
from aos_core.contracts.profile import Policy
from aos_core.contracts.resources import ResourceContract
from aos_core.contracts.runs import Divergence, ReplayResult, RunResult, RunStatus
from aos_core.contracts.skill import SideEffect
from aos_core.execution.calling import Waits
from aos_core.execution.clock import VirtualClock
from aos_core.execution.pipeline import Executor
from aos_core.execution.state import RunState
from aos_core.execution.world import CallRecord, LiveWorld
from aos_core.planning.references import UnresolvedReference, resolve_references
from aos_core.planning.service import parse_plan, plan_error
from aos_core.planning.validation import validate_plan
from aos_core.plugins.loader import Registry
from aos_core.runs.engine import RunEngine
from aos_core.runs.replay import ComparingSink, Diverged, ReplayWorld
from aos_core.runs.store import Hold, LeaseLost, RunStore, StoredRun
from aos_core.runs.trace import TRACE_FORMAT, TraceDocument, step_record

__all__ = ["RunSetup", "new_run_id", "refused_run", "replay_source", "replay_trace", "resume_run", "start_run"]

ExecutorFactory = Callable[[Policy, int, Any], Executor]  # (policy, seed, clock or None) -> executor
AccountsFactory = Callable[[ResourceContract], tuple[Account, ...]]


@dataclass(frozen=True)
class RunSetup:
    """What every run of one `Runtime` shares: its skills, store, how to build executors and
    accounts, how to wait, who it is as an owner, and how long a lease lasts."""

    registry: Registry
    store: RunStore
    make_executor: ExecutorFactory
    make_accounts: AccountsFactory
    waits: Waits
    owner: str
    lease_s: float


def new_run_id() -> str:
    """Sortable and unique: UTC time plus random hex (run ids never enter the canonical trace)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(3).hex()


def refused_run(problems: list[PlanProblem], contract: ResourceContract) -> RunResult:
    """A run that never started because its plan is invalid; nothing is recorded."""
    error = plan_error(problems[0].code, "the plan", problems)
    return RunResult(
        run_id="", ok=False, status="failed", error=error, outcomes={}, spent=Cost(currency=contract.currency)
    )


class StoreSink:
    """A live run's end of the engine: holds, commits and the end go to the run store."""

    def __init__(self, store: RunStore, run_id: str, owner: str) -> None:
        self.store = store
        self.run_id = run_id
        self.owner = owner

    def starting(self, step: Any, params: Any) -> None:
        """Nothing to check for a live run."""

    def hold(self, step_id: str, attempt: int, worst: Cost, idempotent: bool, repeatable: bool) -> None:
        if repeatable and not (worst.money or worst.calls or worst.input_tokens or worst.output_tokens):
            return  # a free call that changes nothing: after a crash it simply runs again
        self.store.hold(self.run_id, self.owner, Hold(step_id, attempt, worst.model_dump(mode="json"), idempotent))

    def commit(self, records: list[dict[str, Any]]) -> None:
        self.store.commit_steps(self.run_id, self.owner, records)

    def finish(self, status: RunStatus, end: dict[str, Any] | None) -> None:
        self.store.finish_run(self.run_id, self.owner, status, end)


def _engine(
    run_id: str, plan: Plan, contract: ResourceContract, policy: Policy, seed: int, setup: RunSetup
) -> RunEngine:
    executor = setup.make_executor(policy, seed, None)
    sink = StoreSink(setup.store, run_id, setup.owner)
    return RunEngine(
        run_id=run_id,
        plan=plan,
        executor=executor,
        accounts=setup.make_accounts(contract),
        sink=sink,
        waits=setup.waits,
        world_for=lambda step_id, state: LiveWorld(state, CallRecord(), sink),
        in_flight_limit=contract.max_concurrency or 64,
        currency=contract.currency,
    )


async def _leased(run: Coroutine[Any, Any, RunResult], setup: RunSetup, run_id: str) -> RunResult:
    """Run the engine while a heartbeat renews the run's lease.

    The heartbeat is a thread, not a task: a skill that holds the event loop (an inline sync
    skill taking longer than the lease) must not make a live owner lose its run to another process.
    """
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(setup.lease_s / 3):
            try:
                setup.store.renew(run_id, setup.owner, setup.lease_s)
            except LeaseLost:
                return  # another owner took the run: this one's writes are fenced from now on
            except StoreError:
                continue  # the store is busy or failing: try again at the next beat

    threading.Thread(target=beat, name=f"aos-lease-{run_id}", daemon=True).start()
    try:
        return await run
    finally:
        stop.set()


async def start_run(
    plan: Plan | Any, *, setup: RunSetup, contract: ResourceContract, policy: Policy, seed: int
) -> RunResult:
    parsed, problems = parse_plan(plan, setup.registry.skills)
    if parsed is None or problems:
        return refused_run(problems, contract)
    run_id = new_run_id()
    header = {
        "kind": "run",
        "format": TRACE_FORMAT,
        "plan": parsed.model_dump(mode="json"),
        "seed": seed,
        "contract": contract.model_dump(mode="json"),
        "policy": policy.model_dump(mode="json"),
    }
    setup.store.create_run(run_id, header, parsed.goal, setup.owner, setup.lease_s)
    engine = _engine(run_id, parsed, contract, policy, seed, setup)
    for account in engine.accounts:
        account.runs_counted.add(run_id)
    return await _leased(engine.run(), setup, run_id)


async def resume_run(
    run_id: str, *, setup: RunSetup, repeat: Collection[str] = (), abandon: Collection[str] = ()
) -> RunResult:
    """Continue a run: committed steps never run again; a step that was in flight is repeated
    when that is safe (the skill changes nothing, every lost attempt was idempotent, the policy
    says so, or `repeat` names it), committed as CANCELLED when `abandon` names it, and otherwise
    left for a decision: the run stays resumable (status `interrupted`)."""
    stored = setup.store.acquire(run_id, setup.owner, setup.lease_s)
    try:
        header = stored.trace.header
        if header.get("format") != TRACE_FORMAT:
            raise TraceError(
                f"run {stored.run_id} was recorded by an older AOS (trace format {header.get('format')}); "
                "it can be listed and shown, not resumed"
            )
        plan = Plan.model_validate(header["plan"])
        contract = ResourceContract.model_validate(header["contract"])
        policy = Policy.model_validate(header["policy"])
        problems = validate_plan(plan, setup.registry.skills)
        if problems:
            setup.store.finish_run(stored.run_id, setup.owner, "interrupted", None)
            return refused_run(problems, contract)
        engine = _engine(stored.run_id, plan, contract, policy, int(header["seed"]), setup)
        _restore(engine, stored, policy, set(repeat), set(abandon))
    except BaseException:
        setup.store.finish_run(stored.run_id, setup.owner, "interrupted", None)
        raise
    return await _leased(engine.run(), setup, stored.run_id)


def _restore(engine: RunEngine, stored: StoredRun, policy: Policy, repeat: set[str], abandon: set[str]) -> None:
    trace = stored.trace
    for step_id in trace.step_order():
        if step_id in engine.steps:
            engine.take_committed(step_id, trace.steps[step_id])
    previous = engine.spent  # committed steps, with the attempts they lost in earlier crashes
    by_step: dict[str, list[Hold]] = {}
    for hold in stored.holds:
        if hold.step_id not in trace.steps and hold.step_id in engine.steps:
            by_step.setdefault(hold.step_id, []).append(hold)
    for step_id, holds in sorted(by_step.items(), key=lambda item: engine.position[item[0]]):
        lost = [{"attempt": h.attempt, "cost": h.worst} for h in holds]
        for item in lost:  # a held worst case counts as spent until its step is settled
            previous = previous + Cost.model_validate(item["cost"])
        step = engine.steps[step_id]
        entry = engine.executor.registry.skills.get(step.skill)
        harmless = entry is not None and entry.metadata.side_effects in (SideEffect.NONE, SideEffect.READ)
        if step_id in abandon or "all" in abandon:
            _abandon(engine, step_id, lost)
        elif (
            harmless
            or all(h.idempotent for h in holds)
            or policy.repeat_in_flight
            or step_id in repeat
            or "all" in repeat
        ):
            engine.lost[step_id] = lost
            engine.repeated.append(step_id)
        else:
            engine.lost[step_id] = lost
            engine.pending.add(step_id)
            engine.not_repeated.append(step_id)
    for account in engine.accounts:
        # a shared account of this runtime that ran the run already counted its spend as it happened
        if not account.durable and engine.run_id not in account.runs_counted:
            account.ledger.record(previous)
            account.runs_counted.add(engine.run_id)


def _abandon(engine: RunEngine, step_id: str, lost: list[dict[str, Any]]) -> None:
    """Commit a step that was in flight as CANCELLED, by the caller's decision."""
    step = engine.steps[step_id]
    entry = engine.executor.registry.skills.get(step.skill)
    try:
        params = resolve_references(step.params, engine.outputs)
    except UnresolvedReference:
        params = None
    error = make_error(
        ErrorCode.CANCELLED,
        f"step {step_id} ({step.skill}) was in flight when the run stopped and was abandoned on resume; "
        "its side effects may have happened",
        details={"reason": "abandoned_in_flight", "step": step_id},
    )
    outcome = StructuredOutcome(
        ok=False,
        error=error,
        skill=step.skill,
        skill_version=entry.metadata.version if entry else "",
        cost=Cost(currency=engine.currency),
        trace_id=engine.run_id,
        step_id=step_id,
    )
    record = step_record(step_id, step.skill, params, outcome, None, lost)
    engine.sink.commit([record])
    engine._done(step_id, outcome, record)


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
    registry: Registry,
    make_executor: ExecutorFactory,
    waits: Waits,
) -> ReplayResult:
    """Replay `trace` (with `plan` instead of the recorded one, when given)."""
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
    return ReplayResult(
        matched=divergence is None,
        run_id=run_id,
        error=error,
        divergence=divergence,
        outcomes=ordered,
        state=engine.executor.secrets.redact(engine.state.snapshot()),
        spent=engine.spent,
        reexecuted=tuple(s for s in engine.order if s in reexecuted),
        trace_sha256=sha,
    )
