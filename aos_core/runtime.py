"""`Runtime`: the public facade over plugins, the executor, planning, simulation and runs.

Async inside, sync at the edge: `execute` drives the very coroutine `aexecute` awaits, with a
blocking wait strategy, so an inline skill costs no event-loop round trip; async work a sync
caller needs (an async skill, a run, a replay) runs on the runtime's own event loop in a daemon
thread, which makes the sync API safe from any number of threads. The plugin manager, the
accounts, pooled clients and history all belong to the instance, never to the module.
"""

from __future__ import annotations

import functools
import itertools
import random
import threading
import uuid
from collections import deque
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from aos_core.budget.account import Account
from aos_core.budget.estimators import choose_estimators
from aos_core.budget.ledger import Ledger
from aos_core.budget.shared import SharedLedger
from aos_core.contracts.config import RuntimeConfig
from aos_core.contracts.cost import Cost
from aos_core.contracts.errors import ErrorCode, make_error
from aos_core.contracts.exceptions import UnknownSkill
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import Plan, PlanResult
from aos_core.contracts.profile import AgentProfile, Policy
from aos_core.contracts.protocols import PlanRequest
from aos_core.contracts.resources import ResourceContract
from aos_core.contracts.runs import CostRange, ReplayResult, RunResult, RunSummary, SimulationReport
from aos_core.contracts.skill import SkillMetadata
from aos_core.execution.calling import AsyncWaits, LoopThread, SyncMisuse, SyncWaits, Workers, drive_sync
from aos_core.execution.clock import SystemClock, check_clock
from aos_core.execution.context import PlannerCtx
from aos_core.execution.history import history_of
from aos_core.execution.pipeline import CallScope, Executor
from aos_core.execution.resources import ResourcePool
from aos_core.execution.secrets import SecretStore
from aos_core.execution.state import RunState, StateWriter
from aos_core.execution.world import LiveWorld
from aos_core.memory.store import Memory
from aos_core.observability import build_instruments
from aos_core.observability.tracing import valid_traceparent
from aos_core.planning.service import ask_planner, parse_plan, plan_result
from aos_core.plugins import PluginReport, Registry, discover_plugins
from aos_core.policy import ApprovalRequest
from aos_core.runs.replay import replay_source, replay_trace
from aos_core.runs.service import RunningEngines, RunOptions, RunSetup, resume_run, start_run, submit_run
from aos_core.runs.store import DEFAULT_LEASE_S, RunStore, open_store, owner_id
from aos_core.runs.trace import TraceDocument
from aos_core.simulation import simulate

__all__ = ["QUERY_KEYS", "Runtime", "UnknownSkill", "history_of"]

QUERY_KEYS = ("budget", "history", "state", "skills", "plugins", "contracts")


class Runtime:
    """Loads plugins, then executes skills and runs plans under one profile and contract.

    Use it as a context manager (`with Runtime() as rt:` or `async with`) so pooled clients
    are closed. `plugins` adds plugin objects in-process; `entry_points=False` loads only
    aos-core's built-in plugins besides them (what tests and embedders usually want), and a
    collection of entry point names loads aos-core's and those (`aos exec` loads the plugin
    that provides its skill, and those that price, classify or remember, this way; a mapping of
    those names to their distributions finds them without reading every installed distribution).
    `contract` governs direct calls (`execute`) and each run that does not bring its own; what
    it covers (one run, or everything naming it) is said in `ResourceContract`'s docstring.
    `metrics`, `tracing` and `logs` switch on Prometheus metrics, OpenTelemetry spans and step
    log events (None: `AOS_METRICS`, `AOS_TRACING`, `AOS_LOGS`; docs/operations.md).
    """

    def __init__(
        self,
        *,
        profile: AgentProfile | None = None,
        contract: ResourceContract | None = None,
        config: RuntimeConfig | Mapping[str, Any] | None = None,
        plugins: Iterable[Any] = (),
        entry_points: bool | Collection[str] = True,
        seed: int | None = None,
        clock: Any = None,
        secrets: Mapping[str, str] | Callable[[str], str | None] | None = None,
        approve: Callable[[ApprovalRequest], Any] | None = None,
        store: str | Path | RunStore | None = None,
        durability: Literal["normal", "full"] = "normal",
        lease_s: float = DEFAULT_LEASE_S,
        shared_budgets: bool = False,
        memory: Any = None,
        metrics: Any = None,
        tracing: Any = None,
        logs: bool | None = None,
    ) -> None:
        self.profile = profile or AgentProfile()
        self.config = config if isinstance(config, RuntimeConfig) else RuntimeConfig.model_validate(config or {})
        self.contract = contract or self.profile.contract
        self.clock = check_clock(clock or SystemClock())
        self.seed = seed if seed is not None else random.SystemRandom().getrandbits(63)
        self.secrets = SecretStore(secrets)
        self.approve = approve
        self.session_id = uuid.uuid4().hex
        self.registry: Registry = discover_plugins(
            self.config.disabled_plugins,
            core_only=entry_points is False,
            only=None if isinstance(entry_points, bool) else _only(entry_points),
            plugins=plugins,
            plugin_config=self.config.plugins,
        )
        self.state = RunState()
        self._direct = LiveWorld(self.state)  # direct calls record nothing: one world serves them all
        self._estimators = choose_estimators(self.registry)
        self._accounts: dict[str, Account] = {}
        self._accounts_lock = threading.Lock()
        self._shared_budgets = shared_budgets
        self._owner = owner_id()
        self._store_path = store if isinstance(store, str | Path) else None
        self._store: RunStore | None = None if store is None or isinstance(store, str | Path) else store
        self._durability = durability
        self._account = self.account_for(self.contract)
        self._accounts_direct: tuple[Account, ...] = (self._account,)
        self._instruments = build_instruments(
            metrics=metrics, tracing=tracing, logs=logs, secrets=self.secrets, reports=self.registry.reports
        )
        self._budgets = None  # this runtime's accounts as the metrics read them
        if self._instruments is not None and self._instruments.metrics is not None:
            self._budgets = self._instruments.metrics.watch_budgets(self._account, self._accounts)
        self._memory = memory  # a Memory, a URL, or None (the configuration's, else the default): opened on first use
        self._memory_lock = threading.Lock()
        self._history: deque[StructuredOutcome] = deque(maxlen=self.config.history_limit)
        self._pool = ResourcePool()
        self._loop = LoopThread()
        self._workers = Workers()
        self._sync = SyncWaits(self._loop, self._workers)
        self._async = AsyncWaits(self._workers)
        self._counter = itertools.count(1)
        self._executor = self._new_executor(self.profile.policy, self.seed, self.clock)
        self._closed = False
        self._lease_s = lease_s
        self._running = RunningEngines()

    def _new_executor(
        self,
        policy: Policy,
        seed: int,
        clock: Any,
        approve: Callable[[ApprovalRequest], Any] | None = None,
        live: bool = True,
    ) -> Executor:
        """An executor with this runtime's registry, secrets, pool and config. `live=False` (a
        replay): it spends nothing, so it counts no call in the metrics and adds no outcome to
        the history (`query("history")` is what was executed, not what a replay re-derived; and
        each outcome the history keeps lives on past the collector's younger generations: the
        full collections of a 100k-step replay cost ~14 µs a step with them, bench case 4)."""
        executor = Executor(
            registry=self.registry,
            policy=policy,
            secrets=self.secrets,
            clock=clock or self.clock,
            seed=seed,
            pool=self._pool,
            skill_config=self.config.skills,
            approve=approve or self.approve,
            max_output_bytes=self.config.max_output_bytes,
            on_outcome=self._history.append if live else None,
            memory=lambda: self.memory,
            instruments=self._instruments if live else None,
        )
        executor.estimators = self._estimators
        return executor

    def account_for(self, contract: ResourceContract) -> Account:
        """The account a contract is enforced by: a new one for a contract without an id, the
        runtime's one account per id otherwise (`ValueError` if that id has other limits). With
        `shared_budgets`, a contract with an id is held in the run store, one budget for every
        process using that store (`aos_core.budget.shared`)."""
        if contract.id is None:
            return Account(contract, self.clock.monotonic())
        with self._accounts_lock:
            account = self._accounts.get(contract.id)
            if account is None:
                ledger = SharedLedger(contract, self.store, self._owner) if self._shared_budgets else None  # type: ignore[arg-type]
                account = self._accounts[contract.id] = Account(contract, self.clock.monotonic(), ledger)
            elif account.contract != contract:
                raise ValueError(f"contract {contract.id!r} is already in force with other limits; give it another id")
        return account

    @property
    def memory(self) -> Memory:
        """The memory store runs and skills use (`ctx.memory`): `memory=` (a `Memory` or a URL),
        else `config.memory`, else `AOS_MEMORY`, else `$AOS_HOME/memory.sqlite3`; opened on first
        use. Reads from Python are not recorded; inside a run, every read and write is."""
        memory = self._memory
        if isinstance(memory, Memory):
            return memory
        with self._memory_lock:
            if not isinstance(self._memory, Memory):
                from aos_core.memory.urls import embedder_from_name, memory_from_url

                embedders = {r.name: r.obj for r in self.registry.embedders.values()}
                name = self.config.memory_embedder
                self._memory = memory_from_url(
                    self._memory or self.config.memory,
                    clock=self.clock,
                    embedder=embedder_from_name(name, embedders) if name else None,
                    providers={scheme: r.obj for scheme, r in self.registry.memory_backends.items()},
                )
                self._owns_memory = True
            return self._memory

    @property
    def ledger(self) -> Ledger:
        """The ledger of direct calls (`execute`): the runtime contract's account."""
        return self._account.ledger

    # -- execution ---------------------------------------------------------------------------
    def _scope(
        self, waits: Any, budgets: Collection[ResourceContract] = (), traceparent: str | None = None
    ) -> CallScope:
        accounts = self._accounts_direct  # the usual call: no tuple built from a generator
        if budgets:
            accounts = (self._account, *(self.account_for(budget) for budget in budgets))
        scope = CallScope(f"exec-{next(self._counter)}", self.session_id, self._direct, waits, accounts)
        if traceparent is not None:  # the caller's trace: the call's span continues it, or the skill sends it on
            from aos_core.observability.tracing import valid_traceparent

            scope.traceparent = valid_traceparent(traceparent)
            tracing = None if self._executor.instruments is None else self._executor.instruments.tracing
            if scope.traceparent is not None and tracing is not None:
                scope.parent = tracing.parent(scope.traceparent)
        return scope

    def execute(
        self,
        skill: str,
        params: Mapping[str, Any] | None = None,
        *,
        budgets: Collection[ResourceContract] = (),
        traceparent: str | None = None,
    ) -> StructuredOutcome:
        """Execute one skill and return its outcome. Never raises for anything the call does;
        safe to call from any number of threads at once. `budgets`: shared contracts (with an id)
        the call counts against as well as the runtime's contract (e.g. an API key's budget).
        `traceparent`: the caller's W3C trace context, continued by the call (an invalid one is
        ignored)."""
        scope = self._scope(self._sync, budgets, traceparent)
        try:
            result: StructuredOutcome = drive_sync(self._executor.call(skill, {} if params is None else params, scope))
        except SyncMisuse:
            raise  # a developer's mistake, not something the call did
        except Exception as exc:  # noqa: BLE001 - never raise: a bug of AOS itself still comes back as data
            return self._internal(skill, scope, exc)
        return result

    async def aexecute(
        self,
        skill: str,
        params: Mapping[str, Any] | None = None,
        *,
        budgets: Collection[ResourceContract] = (),
        traceparent: str | None = None,
    ) -> StructuredOutcome:
        """Async twin of `execute`. Cancelling the awaiting task cancels the call (the holds it
        took are released first)."""
        scope = self._scope(self._async, budgets, traceparent)
        try:
            result: StructuredOutcome = await self._executor.call(skill, {} if params is None else params, scope)
        except Exception as exc:  # noqa: BLE001 - never raise: a bug of AOS itself still comes back as data
            return self._internal(skill, scope, exc)
        return result

    def _internal(self, skill: Any, scope: CallScope, exc: Exception) -> StructuredOutcome:
        error = make_error(
            ErrorCode.SKILL_CRASHED,
            f"AOS failed internally while calling {skill!r}: {type(exc).__name__}; please report it",
            details={"internal": True, "exception_type": type(exc).__name__},
        )
        return StructuredOutcome(
            ok=False,
            error=error,
            skill=str(skill),
            trace_id=scope.trace_id,
            step_id=scope.step_id,
            cost=Cost(currency=self.contract.currency),
        )

    # -- planning ----------------------------------------------------------------------------
    def plan(self, goal: str, planner: str | None = None, *, budgets: Collection[ResourceContract] = ()) -> PlanResult:
        """Ask a planner (default: the profile's) for a plan, validated against the skills' schemas.
        `budgets`: shared contracts the planner's calls count against too, as for `execute`."""
        result: PlanResult = self._loop.run(self.aplan(goal, planner, budgets=budgets))
        return result

    async def aplan(
        self, goal: str, planner: str | None = None, *, budgets: Collection[ResourceContract] = ()
    ) -> PlanResult:
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
            functools.partial(self.aexecute, budgets=budgets) if budgets else self.aexecute,
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
            memory=lambda: self.memory,  # a planner's reads are not recorded: planning is not replayed
        )
        return await ask_planner(ranked, request, ctx, self.registry.skills)

    def check_plan(self, plan: Plan | Mapping[str, Any], planner: str = "user") -> PlanResult:
        """Validate a plan (a `Plan` or its JSON) against the loaded skills, without running it."""
        parsed, problems = parse_plan(plan, self.registry.skills)
        return plan_result(planner, parsed, problems)

    # -- simulation and runs -------------------------------------------------------------------
    def simulate(self, plan: Plan | Mapping[str, Any], *, steps: bool = True) -> SimulationReport:
        """Problems, approvals, cost (low/expected/worst) and latency of a plan; executes nothing.
        `steps=False`: the report's `steps` (an estimate per step) stays empty, for a caller that
        reads only the totals (`aos run`'s preflight of 100,000 steps held 25 MiB of them)."""
        parsed, problems = parse_plan(plan, self.registry.skills)
        if parsed is None:
            zero = Cost(currency=self.contract.currency)
            return SimulationReport(
                feasible=False,
                fits_contract=False,
                problems=tuple(problems),
                cost=CostRange(low=zero, expected=zero, worst=zero),
                latency_ms=0.0,
                contract=self.contract.id or "",
            )
        return simulate(
            parsed,
            problems=problems,
            skills=self.registry.skills,
            estimators=self._estimators,
            policy=self.profile.policy,
            contract=self.contract,
            skill_config=self.config.skills,
            at=self.clock.now(),
            has_secret=self._has_secret,
            steps=steps,
        )

    def _has_secret(self, name: str) -> bool:
        try:
            return self.secrets.find(name) is not None
        except LookupError:  # the provider failed: the call would fail as well
            return False

    def _setup(self) -> RunSetup:
        return RunSetup(
            registry=self.registry,
            store=self.store,
            make_executor=self._new_executor,
            make_accounts=lambda contract: (self.account_for(contract),),
            waits=self._async,
            owner=self._owner,
            lease_s=self._lease_s,
            running=self._running,
        )

    def run(
        self,
        plan: Plan | Mapping[str, Any] | None = None,
        *,
        resume: str | None = None,
        repeat_in_flight: Collection[str] = (),
        abandon_in_flight: Collection[str] = (),
        approvals: Literal["ask", "wait"] = "ask",
        on_event: Callable[[dict[str, Any]], None] | None = None,
        keep_events: bool = False,
        budgets: Collection[ResourceContract] = (),
        traceparent: str | None = None,
    ) -> RunResult:
        """Run a plan (or resume run `resume`), recording a durable trace. Never raises for what
        steps do. `budgets`: shared contracts (with an id) the run counts against as well as its
        own contract. `traceparent`: the caller's W3C trace context (an HTTP request's header),
        kept with the run: its spans, and the requests its skills make, continue that trace.

        On resume, `repeat_in_flight`/`abandon_in_flight` name steps that were in flight when the
        run stopped (or "all") to run again or to record as CANCELLED. `approvals="wait"`: a step
        that needs an approval pauses the run (status `waiting_approval`) until
        `decide_approval` is called, instead of asking the runtime's approver. `on_event` hears
        every event the run reports; `keep_events` also stores them (`events(run_id)`).
        The result's `outcomes` are read from the run store when asked for (a failed step's are
        held): read them while the runtime is open (an SQLite file's can be read after).
        """
        result: RunResult = self._loop.run(
            self.arun(
                plan,
                resume=resume,
                repeat_in_flight=repeat_in_flight,
                abandon_in_flight=abandon_in_flight,
                approvals=approvals,
                on_event=on_event,
                keep_events=keep_events,
                budgets=budgets,
                traceparent=traceparent,
            )
        )
        return result

    async def arun(
        self,
        plan: Plan | Mapping[str, Any] | None = None,
        *,
        resume: str | None = None,
        repeat_in_flight: Collection[str] = (),
        abandon_in_flight: Collection[str] = (),
        approvals: Literal["ask", "wait"] = "ask",
        on_event: Callable[[dict[str, Any]], None] | None = None,
        keep_events: bool = False,
        budgets: Collection[ResourceContract] = (),
        traceparent: str | None = None,
    ) -> RunResult:
        """Async twin of `run`. On resume, a profile whose policy says `repeat_in_flight` repeats
        every in-flight step that `abandon_in_flight` does not name; a traceparent kept with the
        run wins over `traceparent`."""
        observers = () if on_event is None else (on_event,)
        options = RunOptions(approvals, keep_events, observers, valid_traceparent(traceparent))
        if resume is not None:
            if self.profile.policy.repeat_in_flight and not repeat_in_flight:
                repeat_in_flight = ("all",)
            return await resume_run(
                resume, setup=self._setup(), repeat=repeat_in_flight, abandon=abandon_in_flight, options=options
            )
        if plan is None:
            raise TypeError("run() needs a plan, or resume=RUN_ID")
        return await start_run(
            plan,
            setup=self._setup(),
            contract=self.contract,
            policy=self.profile.policy,
            seed=self.seed,
            options=options,
            budgets=tuple(budgets),
        )

    def submit(
        self,
        plan: Plan | Mapping[str, Any],
        *,
        contract: ResourceContract | None = None,
        policy: Policy | None = None,
        approvals: Literal["ask", "wait"] = "wait",
        budgets: Collection[ResourceContract] = (),
        run_id: str | None = None,
        traceparent: str | None = None,
    ) -> RunResult:
        """Record a run to be run later by whoever resumes it (a worker): status `queued`.
        An invalid plan is refused at once (`error` set, nothing recorded). `traceparent`: as
        for `run`, kept with the run for the worker that runs it."""
        return submit_run(
            plan,
            setup=self._setup(),
            contract=contract or self.contract,
            policy=policy or self.profile.policy,
            seed=self.seed,
            approvals=approvals,
            budgets=tuple(budgets),
            run_id=run_id,
            traceparent=valid_traceparent(traceparent),
        )

    def drain(self) -> None:
        """Let every run this runtime is running finish the steps in flight and start no more: each
        then ends `interrupted`, resumable (a server's graceful shutdown). Runs started after it
        drain at once. Safe to call from any thread."""
        self._running.drain()

    def decide_approval(self, run_id: str, step_id: str, approve: bool, by: str = "python") -> bool:
        """Approve or deny a step a run waits for (`approvals="wait"`); resume the run after.
        False when no approval of that step is pending."""
        return self.store.decide_approval(run_id, step_id, approve, by)

    def cancel(self, run_id: str) -> str:
        """Ask a run to stop: its owner stops it within a second; a run nobody runs is cancelled
        at once. Returns the status it now shows."""
        return self.store.request_cancel(run_id)

    def events(self, run_id: str, after: int = 0, limit: int = 1000) -> list[dict[str, Any]]:
        """The stored events of a run (`keep_events=True`), numbered from 1, after number `after`."""
        return self.store.read_events(self.store.resolve_id(run_id), after, limit)

    def replay(
        self,
        source: str | Path | TraceDocument,
        plan: Plan | Mapping[str, Any] | None = None,
        *,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> ReplayResult:
        """Replay a run id, a trace file or a `TraceDocument`; `plan` replaces the recorded plan.
        `RunNotFound`, `RunNotFinished` or `TraceError` when there is nothing to replay.
        `on_event` hears the replay's events, as a run's (live progress)."""
        result: ReplayResult = self._loop.run(self.areplay(source, plan, on_event=on_event))
        return result

    async def areplay(
        self,
        source: str | Path | TraceDocument,
        plan: Plan | Mapping[str, Any] | None = None,
        *,
        on_event: Callable[[dict[str, Any]], None] | None = None,
    ) -> ReplayResult:
        """Async twin of `replay`."""
        trace, run_id = replay_source(source, lambda: self.store)
        observers = () if on_event is None else (on_event,)
        make_executor = functools.partial(self._new_executor, live=False)
        result = await replay_trace(
            trace, run_id, plan, make_executor=make_executor, waits=self._async, observers=observers
        )
        if self._instruments is not None:
            self._instruments.replayed(result.matched)
        return result

    def runs(self, limit: int = 50) -> list[RunSummary]:
        """Recorded runs, newest first."""
        return self.store.list_runs(limit)

    def trace(self, run_id: str) -> TraceDocument:
        """A recorded run's canonical trace (`.text()` is the JSON Lines export)."""
        return self.store.load_run(run_id).trace

    @property
    def store(self) -> RunStore:
        """The run store: `store=` (a path, `sqlite:///PATH` or `postgresql://...`), else
        `AOS_STORE`, else SQLite at `$AOS_HOME/runs.sqlite3`."""
        if self._store is None:
            self._store = open_store(self._store_path, self._durability)
        return self._store

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
        """A resource contract known to this runtime, by id ("default": the runtime's own)."""
        if contract_id in ("default", self.contract.id):
            return self.contract
        account = self._accounts.get(contract_id)
        if account is None:
            known = ", ".join(["default", *self._accounts])
            raise KeyError(f"no resource contract {contract_id!r}; known: {known}")
        return account.contract

    def query(self, key: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """What the runtime knows, as JSON data: budget, history, state, skills, plugins, contracts.

        `history` takes `skill`, `status` ("ok" or "failed"), `code` and `limit` (default 100).
        """
        if key == "budget":
            return self.ledger.snapshot(self.clock.monotonic())
        if key == "history":
            return history_of(self._history, {} if params is None else params)
        if key == "state":
            return {"state": self.secrets.redact(self.state.snapshot())}
        if key == "skills":
            return {"skills": [m.model_dump(mode="json") for m in self.skills.values()]}
        if key == "plugins":
            return {"plugins": [r.model_dump(mode="json") for r in self.plugins]}
        if key == "contracts":
            contracts = [self.contract, *(a.contract for a in self._accounts.values() if a.contract != self.contract)]
            return {"contracts": [c.model_dump(mode="json") for c in contracts]}
        raise ValueError(f"unknown query key {key!r}; use one of: {', '.join(QUERY_KEYS)}")

    # -- lifecycle ---------------------------------------------------------------------------
    def close(self) -> None:
        """Close pooled clients, the runtime's loop and worker threads, and the store."""
        if self._closed:
            return
        self._closed = True
        self._budgets = None  # the metrics stop reading this runtime's budgets
        self._pool.close_unbound()
        self._loop.close()  # its async generators shut down: what was pooled on it is closed
        self._workers.close()
        if self._store is not None:
            self._store.close()
        if getattr(self, "_owns_memory", False):
            self._memory.close()

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._budgets = None
        await self._pool.aclose()
        self._pool.close_unbound()
        self._loop.close()
        self._workers.close()
        if self._store is not None:
            self._store.close()
        if getattr(self, "_owns_memory", False):
            self._memory.close()

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


def _only(entry_points: Collection[str]) -> Collection[str]:
    """The entry points to load: a mapping (name -> distribution) as given, names as a set."""
    return dict(entry_points) if isinstance(entry_points, Mapping) else frozenset(entry_points)
