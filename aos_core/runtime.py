"""`Runtime`: the public facade over plugins, the executor, planning, simulation and runs.

Async inside, sync at the edge: `execute` drives the same pipeline as `aexecute`, blocking
instead of awaiting; inline sync skills never touch an event loop. The plugin manager, the
ledger, pooled clients and history all belong to the instance, never to the module.
"""

from __future__ import annotations

import difflib
import itertools
import random
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aos_core.budget.ledger import Ledger
from aos_core.contracts.config import RuntimeConfig
from aos_core.contracts.cost import Cost
from aos_core.contracts.errors import ErrorCode, make_error
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import Plan, PlanResult
from aos_core.contracts.profile import AgentProfile, Policy
from aos_core.contracts.protocols import PlanRequest
from aos_core.contracts.resources import ResourceContract
from aos_core.contracts.runs import CostRange, ReplayResult, RunResult, RunSummary, SimulationReport
from aos_core.contracts.skill import SkillMetadata
from aos_core.execution.clock import SystemClock, VirtualClock
from aos_core.execution.context import PlannerCtx
from aos_core.execution.effects import Drivers
from aos_core.execution.executor import CallScope, Executor
from aos_core.execution.resources import ResourcePool
from aos_core.execution.secrets import SecretStore
from aos_core.execution.state import RunState, StateWriter
from aos_core.planning.service import ask_planner, parse_plan, plan_result
from aos_core.plugins import PluginReport, Registry, discover_plugins
from aos_core.policy import ApprovalRequest
from aos_core.runs.service import replay_source, replay_trace, resume_run, start_run
from aos_core.runs.sqlite import SQLiteRunStore
from aos_core.runs.store import RunStore, default_store_path
from aos_core.runs.trace import TraceDocument
from aos_core.simulation import simulate

__all__ = ["QUERY_KEYS", "Runtime", "UnknownSkill"]

QUERY_KEYS = ("budget", "history", "state", "skills", "plugins", "contracts")


class UnknownSkill(LookupError):
    """Asked about a skill no loaded plugin provides; the message names the closest ones."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.suggestions = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"no skill named {name!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


class Runtime:
    """Loads plugins, then executes skills and runs plans under one profile and contract.

    Use it as a context manager (`with Runtime() as rt:` or `async with`) so pooled clients
    are closed. `plugins` adds plugin objects in-process; `entry_points=False` loads only
    aos-core's built-in plugins besides them (what tests and embedders usually want).
    """

    def __init__(
        self,
        *,
        profile: AgentProfile | None = None,
        contract: ResourceContract | None = None,
        config: RuntimeConfig | Mapping[str, Any] | None = None,
        plugins: Iterable[Any] = (),
        entry_points: bool = True,
        seed: int | None = None,
        clock: Any = None,
        secrets: Mapping[str, str] | Callable[[str], str | None] | None = None,
        approve: Callable[[ApprovalRequest], Any] | None = None,
        store: str | Path | RunStore | None = None,
        durability: Literal["normal", "full"] = "normal",
    ) -> None:
        self.profile = profile or AgentProfile()
        self.config = config if isinstance(config, RuntimeConfig) else RuntimeConfig.model_validate(config or {})
        self.contract = contract or self.profile.contract
        self.clock = clock or SystemClock()
        self.seed = seed if seed is not None else random.SystemRandom().getrandbits(63)
        self.secrets = SecretStore(secrets)
        self.approve = approve
        self.session_id = uuid.uuid4().hex
        self.registry: Registry = discover_plugins(
            self.config.disabled_plugins, core_only=not entry_points, plugins=plugins
        )
        self.state = RunState()
        self.ledger = Ledger(self.contract, self.clock.monotonic())
        self._contracts: dict[str, ResourceContract] = {self.contract.id: self.contract}
        self._history: deque[StructuredOutcome] = deque(maxlen=self.config.history_limit)
        self._pool = ResourcePool()
        self._drivers = Drivers()
        self._counter = itertools.count(1)
        self._executor = self._new_executor(self.ledger)
        self._closed = False
        self._durability = durability
        self._store_path = None if store is None or not isinstance(store, str | Path) else Path(store)
        self._store: RunStore | None = None if store is None or isinstance(store, str | Path) else store

    def _new_executor(
        self, ledger: Ledger, seed: int | None = None, policy: Policy | None = None, clock: Any = None
    ) -> Executor:
        return Executor(
            registry=self.registry,
            policy=policy or self.profile.policy,
            ledger=ledger,
            secrets=self.secrets,
            clock=clock or self.clock,
            seed=self.seed if seed is None else seed,
            pool=self._pool,
            skill_config=self.config.skills,
            approve=self.approve,
            max_output_bytes=self.config.max_output_bytes,
            on_outcome=self._history.append,
        )

    # -- execution ---------------------------------------------------------------------------
    def execute(self, skill: str, params: Mapping[str, Any] | None = None) -> StructuredOutcome:
        """Execute one skill and return its outcome. Never raises for anything the call does."""
        scope = CallScope(f"exec-{next(self._counter)}", self.session_id, self.state)
        params = _params(params)
        outcome = self._executor.run_inline(skill, params, scope)  # nothing to wait for: no generator
        if outcome is None:
            outcome = self._drivers.run_sync(self._executor.pipeline(skill, params, scope))
        return outcome

    async def aexecute(self, skill: str, params: Mapping[str, Any] | None = None) -> StructuredOutcome:
        """Async twin of `execute`."""
        scope = CallScope(f"exec-{next(self._counter)}", self.session_id, self.state)
        result: StructuredOutcome = await self._drivers.run_async(
            self._executor.pipeline(skill, _params(params), scope)
        )
        return result

    # -- planning ----------------------------------------------------------------------------
    def plan(self, goal: str, planner: str | None = None) -> PlanResult:
        """Ask a planner (default: the profile's) for a plan, validated against the skills' schemas."""
        result: PlanResult = self._drivers.run_on_loop(self.aplan(goal, planner))
        return result

    async def aplan(self, goal: str, planner: str | None = None) -> PlanResult:
        """Async twin of `plan`. Never raises: a planner's failure is in `result.error`."""
        name = planner or self.profile.planner
        ranked = self.registry.planners.get(name)
        if ranked is None:
            known = ", ".join(sorted(self.registry.planners)) or "none"
            error = make_error(ErrorCode.SKILL_NOT_FOUND, f"no planner named {name!r}; known planners: {known}")
            return PlanResult(ok=False, planner=name, error=error)
        allowed = self.profile.policy.allow_skills
        offered = [
            m
            for n, m in self.skills.items()
            if n not in self.profile.policy.deny_skills and (allowed is None or n in allowed)
        ]
        request = PlanRequest(
            goal=goal, skills=offered, contract=self.contract, config=self.config.planners.get(name, {})
        )
        ctx = PlannerCtx(
            self.aexecute,
            clock=self.clock,
            secrets=self.secrets,
            policy=self.profile.policy,
            state=StateWriter(self.state),
            config=request.config,
            step_id=f"plan-{next(self._counter)}",
            attempt=1,
            deadline_ms=None,
            pool=self._pool,
            seed=self.seed,
        )
        return await ask_planner(ranked, request, ctx, self.registry.skills)

    def check_plan(self, plan: Plan | Mapping[str, Any], planner: str = "user") -> PlanResult:
        """Validate a plan (a `Plan` or its JSON) against the loaded skills, without running it."""
        parsed, problems = parse_plan(plan, self.registry.skills)
        return plan_result(planner, parsed, problems)

    # -- simulation and runs -------------------------------------------------------------------
    def simulate(self, plan: Plan | Mapping[str, Any]) -> SimulationReport:
        """Problems, approvals, cost (low/expected/worst) and latency of a plan; executes nothing."""
        parsed, problems = parse_plan(plan, self.registry.skills)
        if parsed is None:
            zero = Cost(currency=self.contract.currency)
            return SimulationReport(
                feasible=False,
                fits_contract=False,
                problems=tuple(problems),
                cost=CostRange(low=zero, expected=zero, worst=zero),
                latency_ms=0.0,
                contract=self.contract.id,
            )
        return simulate(
            parsed,
            problems=problems,
            skills=self.registry.skills,
            estimators=self._executor.estimators,
            policy=self.profile.policy,
            contract=self.contract,
            skill_config=self.config.skills,
            at=self.clock.now(),
        )

    def run(self, plan: Plan | Mapping[str, Any] | None = None, *, resume: str | None = None) -> RunResult:
        """Run a plan (or resume run `resume`), recording a durable trace. Never raises for what steps do."""
        result: RunResult = self._drivers.run_on_loop(self.arun(plan, resume=resume))
        return result

    async def arun(self, plan: Plan | Mapping[str, Any] | None = None, *, resume: str | None = None) -> RunResult:
        """Async twin of `run`."""
        if resume is not None:
            return await resume_run(
                resume,
                registry=self.registry,
                make_executor=self._run_executor,
                drivers=self._drivers,
                store=self.store,
            )
        if plan is None:
            raise TypeError("run() needs a plan, or resume=RUN_ID")
        return await start_run(
            plan,
            registry=self.registry,
            make_executor=self._run_executor,
            drivers=self._drivers,
            store=self.store,
            contract=self.contract,
            policy=self.profile.policy,
            seed=self.seed,
        )

    def replay(self, source: str | Path | TraceDocument, plan: Plan | Mapping[str, Any] | None = None) -> ReplayResult:
        """Replay a run id, a trace file or a `TraceDocument`; `plan` replaces the recorded plan."""
        result: ReplayResult = self._drivers.run_on_loop(self.areplay(source, plan))
        return result

    async def areplay(
        self, source: str | Path | TraceDocument, plan: Plan | Mapping[str, Any] | None = None
    ) -> ReplayResult:
        """Async twin of `replay`. `RunNotFound`/`TraceError` for a missing run or unreadable file."""
        trace, run_id = replay_source(source, lambda: self.store)
        return await replay_trace(trace, run_id, plan, make_executor=self._replay_executor, drivers=self._drivers)

    def runs(self, limit: int = 50) -> list[RunSummary]:
        """Recorded runs, newest first."""
        return self.store.list_runs(limit)

    def trace(self, run_id: str) -> TraceDocument:
        """A recorded run's canonical trace (`.text()` is the JSON Lines export)."""
        return self.store.load_run(run_id).trace

    @property
    def store(self) -> RunStore:
        """The run store (SQLite at `$AOS_HOME/runs.sqlite3` unless `store=` said otherwise)."""
        if self._store is None:
            self._store = SQLiteRunStore(self._store_path or default_store_path(), durability=self._durability)
        return self._store

    def _run_executor(self, contract: ResourceContract, policy: Policy, seed: int) -> Executor:
        return self._new_executor(Ledger(contract, self.clock.monotonic()), seed=seed, policy=policy)

    def _replay_executor(self, contract: ResourceContract, policy: Policy, seed: int) -> Executor:
        clock = VirtualClock()
        return self._new_executor(Ledger(contract, clock.monotonic()), seed=seed, policy=policy, clock=clock)

    # -- knowledge ---------------------------------------------------------------------------
    @property
    def skills(self) -> dict[str, SkillMetadata]:
        """Every loaded skill's metadata, by name, sorted."""
        return {name: self.registry.skills[name].metadata for name in sorted(self.registry.skills)}

    @property
    def plugins(self) -> list[PluginReport]:
        """What happened to every plugin: loaded, failed (with the reason) or disabled."""
        return list(self.registry.reports)

    def describe_skill(self, name: str) -> SkillMetadata:
        """A skill's metadata; `UnknownSkill` (a `LookupError`) names the closest known skills."""
        entry = self.registry.skills.get(name)
        if entry is None:
            raise UnknownSkill(name, self.registry.skills)
        return entry.metadata

    def get_resource_contract(self, contract_id: str = "default") -> ResourceContract:
        """A resource contract known to this runtime, by id."""
        try:
            return self._contracts[contract_id]
        except KeyError:
            raise KeyError(f"no resource contract {contract_id!r}; known: {', '.join(self._contracts)}") from None

    def query(self, key: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What the runtime knows, as JSON data: budget, history, state, skills, plugins, contracts.

        `history` takes `skill`, `status` ("ok" or "failed"), `code` and `limit` (default 100).
        """
        params = dict(params or {})
        if key == "budget":
            return self.ledger.snapshot(self.clock.monotonic())
        if key == "history":
            return _history(self._history, params)
        if key == "state":
            return {"state": self.state.snapshot()}
        if key == "skills":
            return {"skills": [m.model_dump(mode="json") for m in self.skills.values()]}
        if key == "plugins":
            return {"plugins": [r.model_dump(mode="json") for r in self.plugins]}
        if key == "contracts":
            return {"contracts": [c.model_dump(mode="json") for c in self._contracts.values()]}
        raise ValueError(f"unknown query key {key!r}; use one of: {', '.join(QUERY_KEYS)}")

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close pooled clients, the private event loop and worker threads."""
        if self._closed:
            return
        self._closed = True
        self._pool.close_sync()
        if len(self._pool):
            self._drivers.run_on_loop(self._pool.aclose())
        self._drivers.close()
        if self._store is not None:
            self._store.close()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._pool.aclose()
        self._pool.close_sync()
        self._drivers.close()
        if self._store is not None:
            self._store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Runtime:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


def _params(params: Mapping[str, Any] | None) -> Any:
    return {} if params is None else params


def _history(outcomes: Iterable[StructuredOutcome], params: dict[str, Any]) -> dict[str, Any]:
    skill = params.get("skill")
    status = params.get("status")
    code = params.get("code")
    if status not in (None, "ok", "failed"):
        raise ValueError("history status must be 'ok' or 'failed'")
    if code is not None:
        code = ErrorCode(code)
    limit = int(params.get("limit", 100))
    chosen = [
        o
        for o in outcomes
        if (skill is None or o.skill == skill)
        and (status is None or o.ok == (status == "ok"))
        and (code is None or (o.error is not None and o.error.code == code))
    ]
    total = len(chosen)
    return {"count": total, "outcomes": [o.model_dump(mode="json") for o in chosen[-limit:]] if limit else []}
