"""Starting, resuming and replaying runs: the glue the `Runtime` facade calls.

A run is owned by whoever holds its lease (`store.py`); the owner renews it with a heartbeat
while the engine runs and releases it when the run ends or is interrupted. Resume takes the
lease first, so two resumes of one run never both execute its steps.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from aos_core.budget.account import Account
from aos_core.contracts.cost import Cost
from aos_core.contracts.errors import ErrorCode, make_error
from aos_core.contracts.exceptions import StoreError, TraceError
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import Plan, PlanProblem
from aos_core.contracts.profile import Policy
from aos_core.contracts.resources import ResourceContract
from aos_core.contracts.runs import RunResult
from aos_core.contracts.skill import SideEffect
from aos_core.execution.calling import Waits
from aos_core.execution.pipeline import Executor
from aos_core.execution.records import CallRecord
from aos_core.execution.world import LiveWorld
from aos_core.planning.references import UnresolvedReference, resolve_references
from aos_core.planning.service import parse_plan, plan_error
from aos_core.planning.validation import validate_plan
from aos_core.plugins.loader import Registry
from aos_core.runs.engine import Observer, RunEngine
from aos_core.runs.sink import StoreApprover, StoreSink
from aos_core.runs.store import Hold, LeaseLost, RunStore, StoredRun
from aos_core.runs.trace import TRACE_FORMAT, step_record

__all__ = [
    "RunOptions",
    "RunSetup",
    "RunningEngines",
    "new_run_id",
    "refused_run",
    "resume_run",
    "run_header",
    "start_run",
    "submit_run",
]

ExecutorFactory = Callable[..., Executor]  # (policy, seed, clock or None, approver or None) -> executor
AccountsFactory = Callable[[ResourceContract], tuple[Account, ...]]


class RunningEngines:
    """The engines one `Runtime` is running now, so that `Runtime.drain` reaches every one."""

    def __init__(self) -> None:
        self.engines: set[RunEngine] = set()
        self.draining = False

    def drain(self) -> None:
        self.draining = True
        for engine in list(self.engines):
            engine.drain()


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
    running: RunningEngines | None = None


def new_run_id() -> str:
    """Sortable and unique: UTC time plus 48 random bits, so even thousands of runs created in one
    second by many workers do not collide (24 bits did: ~3% a second at 1,000 runs a second).
    Run ids never enter the canonical trace."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(6).hex()


def refused_run(problems: list[PlanProblem], contract: ResourceContract) -> RunResult:
    """A run that never started because its plan is invalid; nothing is recorded."""
    error = plan_error(problems[0].code, "the plan", problems)
    return RunResult(
        run_id="", ok=False, status="failed", error=error, outcomes={}, spent=Cost(currency=contract.currency)
    )


@dataclass(frozen=True)
class RunOptions:
    """How one run is run: approvals asked of the runtime's approver ("ask") or waited for through
    the store ("wait"); events kept in the store or not; who else hears the events; the caller's
    W3C trace context (`traceparent`, valid or None), kept with the run."""

    approvals: Literal["ask", "wait"] = "ask"
    keep_events: bool = False
    observers: tuple[Observer, ...] = ()
    traceparent: str | None = None


def _engine(
    run_id: str, header: dict[str, Any], plan: Plan, setup: RunSetup, options: RunOptions
) -> tuple[RunEngine, StoreSink]:
    contract = ResourceContract.model_validate(header["contract"])
    policy = Policy.model_validate(header["policy"])
    approve = StoreApprover(setup.store, run_id) if header.get("approvals") == "wait" else None
    executor = setup.make_executor(policy, int(header["seed"]), None, approve)
    sink = StoreSink(setup.store, run_id, setup.owner, options.keep_events)
    accounts = setup.make_accounts(contract)
    for budget in header.get("budgets") or []:
        accounts += setup.make_accounts(ResourceContract.model_validate(budget))
    engine = RunEngine(
        run_id=run_id,
        plan=plan,
        executor=executor,
        accounts=accounts,
        sink=sink,
        waits=setup.waits,
        world_for=lambda step_id, state: LiveWorld(
            state, CallRecord(), sink, engine.emit if engine.listening else None
        ),
        in_flight_limit=contract.max_concurrency or 64,
        currency=contract.currency,
        observers=options.observers,
    )
    return engine, sink


_TICK_S = 0.25  # kept events are written this often


async def _leased(engine: RunEngine, sink: StoreSink, setup: RunSetup) -> RunResult:
    """Run the engine while a heartbeat writes its events and renews its lease (and with it learns
    whether someone asked to cancel the run, then stops it).

    The heartbeat is a thread, not a task: a skill that holds the event loop (an inline sync skill
    taking longer than the lease) must not make a live owner lose its run to another process.
    """
    run_id = engine.run_id
    loop = asyncio.get_running_loop()
    stop = threading.Event()
    renew_every = max(_TICK_S, min(1.0, setup.lease_s / 3))

    def beat() -> None:
        since_renewal = 0.0
        while not stop.wait(_TICK_S):
            since_renewal += _TICK_S
            try:
                sink.flush()
                if since_renewal >= renew_every:
                    since_renewal = 0.0
                    if setup.store.renew(run_id, setup.owner, setup.lease_s):
                        loop.call_soon_threadsafe(engine.request_stop, "cancelled")
            except LeaseLost:
                return  # another owner took the run: this one's writes are fenced from now on
            except StoreError:
                continue  # the store is busy or failing: try again at the next beat

    heartbeat = threading.Thread(target=beat, name=f"aos-lease-{run_id}", daemon=True)
    heartbeat.start()
    running = setup.running
    if running is not None:
        running.engines.add(engine)
        if running.draining:
            engine.drain()
    try:
        return await engine.run()
    finally:
        stop.set()
        if running is not None:
            running.engines.discard(engine)


def run_header(
    plan: Plan,
    contract: ResourceContract,
    policy: Policy,
    seed: int,
    approvals: str,
    budgets: tuple[ResourceContract, ...] = (),
) -> dict[str, Any]:
    """The first line of a run's trace. `budgets`: shared contracts (with an id) the run counts
    against besides its own, e.g. the budget of the API key that submitted it. The plan's steps
    stay `PlanStep`s: `canonical_json` writes each as JSON when it reaches it (trace.py)."""
    return {
        "kind": "run",
        "format": TRACE_FORMAT,
        "plan": {**plan.model_dump(mode="json", exclude={"steps"}), "steps": plan.steps},
        "seed": seed,
        "contract": contract.model_dump(mode="json"),
        "budgets": [b.model_dump(mode="json") for b in budgets],
        "policy": policy.model_dump(mode="json"),
        "approvals": approvals,
    }


async def start_run(
    plan: Plan | Any,
    *,
    setup: RunSetup,
    contract: ResourceContract,
    policy: Policy,
    seed: int,
    options: RunOptions = RunOptions(),
    budgets: tuple[ResourceContract, ...] = (),
) -> RunResult:
    parsed, problems = parse_plan(plan, setup.registry.skills)
    if parsed is None or problems:
        return refused_run(problems, contract)
    run_id = new_run_id()
    header = run_header(parsed, contract, policy, seed, options.approvals, budgets)
    setup.store.create_run(run_id, header, parsed.goal, setup.owner, setup.lease_s, options.traceparent)
    engine, sink = _engine(run_id, header, parsed, setup, options)
    del header  # the plan's JSON copy, written; kept, it would hold ~430 bytes a step for the whole run
    engine.traceparent = options.traceparent
    for account in engine.accounts:
        if not account.durable:  # a ledger in the store remembers for itself: a server's set never grows
            account.runs_counted.add(run_id)
    return await _leased(engine, sink, setup)


def submit_run(
    plan: Plan | Any,
    *,
    setup: RunSetup,
    contract: ResourceContract,
    policy: Policy,
    seed: int,
    approvals: str = "wait",
    budgets: tuple[ResourceContract, ...] = (),
    run_id: str | None = None,
    traceparent: str | None = None,
) -> RunResult:
    """Record a run without running it (status `queued`): a worker takes it up by resuming it.
    A plan that is not valid is refused at once, nothing recorded."""
    parsed, problems = parse_plan(plan, setup.registry.skills)
    if parsed is None or problems:
        return refused_run(problems, contract)
    run_id = run_id or new_run_id()
    header = run_header(parsed, contract, policy, seed, approvals, budgets)
    setup.store.create_run(run_id, header, parsed.goal, None, setup.lease_s, traceparent)
    return RunResult(run_id=run_id, ok=False, status="queued", outcomes={}, spent=Cost(currency=contract.currency))


async def resume_run(
    run_id: str,
    *,
    setup: RunSetup,
    repeat: Collection[str] = (),
    abandon: Collection[str] = (),
    options: RunOptions = RunOptions(),
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
        problems = validate_plan(plan, setup.registry.skills)
        if problems:
            setup.store.finish_run(stored.run_id, setup.owner, "interrupted", None)
            return refused_run(problems, ResourceContract.model_validate(header["contract"]))
        engine, sink = _engine(stored.run_id, header, plan, setup, options)
        engine.seq = setup.store.last_event(stored.run_id)
        engine.traceparent = stored.traceparent or options.traceparent  # the caller's who started it
        _restore(engine, stored, engine.executor.policy, set(repeat), set(abandon))
    except BaseException:
        setup.store.finish_run(stored.run_id, setup.owner, "interrupted", None)
        raise
    del stored, header, plan  # the engine holds what it needs; the trace read back is not kept
    return await _leased(engine, sink, setup)


def _restore(engine: RunEngine, stored: StoredRun, policy: Policy, repeat: set[str], abandon: set[str]) -> None:
    trace = stored.trace
    for step_id in trace.step_order():
        if step_id in engine.position:
            engine.take_committed(step_id, trace.steps[step_id])
    previous = engine.spent  # committed steps, with the attempts they lost in earlier crashes
    by_step: dict[str, list[Hold]] = {}
    for hold in stored.holds:
        if hold.step_id not in trace.steps and hold.step_id in engine.position:
            by_step.setdefault(hold.step_id, []).append(hold)
    for step_id, holds in sorted(by_step.items(), key=lambda item: engine.position[item[0]]):
        lost = [{"attempt": h.attempt, "cost": h.worst} for h in holds]
        for item in lost:  # a held worst case counts as spent until its step is settled
            previous = previous + Cost.model_validate(item["cost"])
        step = engine.plan.steps[engine.position[step_id]]
        entry = engine.executor.registry.skills.get(step.skill)
        harmless = entry is not None and entry.declared.side_effects in (SideEffect.NONE, SideEffect.READ)
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
    step = engine.plan.steps[engine.position[step_id]]
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
        skill_version=entry.declared.version if entry else "",
        cost=Cost(currency=engine.currency),
        trace_id=engine.run_id,
        step_id=step_id,
    )
    record = step_record(step_id, step.skill, params, outcome, None, lost)
    engine.sink.commit([record])
    engine._done(step_id, outcome, record)
