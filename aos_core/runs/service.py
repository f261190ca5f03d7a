"""Starting, resuming and replaying runs: the glue the `Runtime` facade calls."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aos_core.contracts.cost import Cost
from aos_core.contracts.plan import Plan, PlanProblem
from aos_core.contracts.profile import Policy
from aos_core.contracts.resources import ResourceContract
from aos_core.contracts.runs import ReplayResult, RunResult
from aos_core.execution.effects import Drivers
from aos_core.execution.executor import Executor
from aos_core.planning.service import parse_plan, plan_error
from aos_core.planning.validation import validate_plan
from aos_core.plugins.loader import Registry
from aos_core.runs.engine import RunEngine
from aos_core.runs.replay import Replayer
from aos_core.runs.store import RunStore
from aos_core.runs.trace import TRACE_FORMAT, TraceDocument, TraceError

__all__ = ["ExecutorFactory", "new_run_id", "refused_run", "replay_source", "replay_trace", "resume_run", "start_run"]

ExecutorFactory = Callable[[ResourceContract, Policy, int], Executor]


def new_run_id() -> str:
    """Sortable and unique: UTC time plus random hex (run ids never enter the canonical trace)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(3).hex()


def refused_run(problems: list[PlanProblem], contract: ResourceContract) -> RunResult:
    """A run that never started because its plan is invalid; nothing is recorded."""
    error = plan_error(problems[0].code, "the plan", problems)
    return RunResult(
        run_id="", ok=False, status="failed", error=error, outcomes={}, spent=Cost(currency=contract.currency)
    )


async def start_run(
    plan: Plan | Any,
    *,
    registry: Registry,
    make_executor: ExecutorFactory,
    drivers: Drivers,
    store: RunStore,
    contract: ResourceContract,
    policy: Policy,
    seed: int,
) -> RunResult:
    parsed, problems = parse_plan(plan, registry.skills)
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
    store.create_run(run_id, header, parsed.goal)
    executor = make_executor(contract, policy, seed)
    engine = RunEngine(
        run_id=run_id,
        plan=parsed,
        executor=executor,
        drivers=drivers,
        store=store,
        in_flight_limit=contract.max_concurrency or 64,
    )
    return await engine.run()


async def resume_run(
    run_id: str, *, registry: Registry, make_executor: ExecutorFactory, drivers: Drivers, store: RunStore
) -> RunResult:
    """Continue a run: committed steps are never run again; in-flight ones per the policy."""
    stored = store.load_run(run_id)
    header = stored.trace.header
    plan = Plan.model_validate(header["plan"])
    contract = ResourceContract.model_validate(header["contract"])
    policy = Policy.model_validate(header["policy"])
    problems = validate_plan(plan, registry.skills)
    if problems:
        return refused_run(problems, contract)
    store.set_status(stored.run_id, "running")
    executor = make_executor(contract, policy, int(header["seed"]))
    engine = RunEngine(
        run_id=stored.run_id,
        plan=plan,
        executor=executor,
        drivers=drivers,
        store=store,
        in_flight_limit=contract.max_concurrency or 64,
    )
    engine.restore(stored)
    return await engine.run()


def replay_source(
    source: str | Path | TraceDocument, store: Callable[[], RunStore]
) -> tuple[TraceDocument, str | None]:
    """A trace from a document, a JSON Lines file, or a run id in the store."""
    if isinstance(source, TraceDocument):
        return source, None
    path = Path(source)
    if path.suffix in {".jsonl", ".json", ".trace"} or path.is_file():
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise TraceError(f"cannot read {path}: {exc.strerror or exc}") from None
        return TraceDocument.parse(text, str(path)), None
    stored = store().load_run(str(source))
    return stored.trace, stored.run_id


async def replay_trace(
    trace: TraceDocument,
    run_id: str | None,
    plan: Plan | Any | None,
    *,
    make_executor: ExecutorFactory,
    drivers: Drivers,
) -> ReplayResult:
    header = trace.header
    chosen = Plan.model_validate(plan if plan is not None else header["plan"]) if not isinstance(plan, Plan) else plan
    contract = ResourceContract.model_validate(header["contract"])
    policy = Policy.model_validate(header["policy"])
    executor = make_executor(contract, policy, int(header["seed"]))
    return await Replayer(trace, chosen, executor, drivers, recorded_plan=plan is None).replay(run_id)
