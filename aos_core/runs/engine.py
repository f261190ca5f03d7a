"""The run engine: steps start as soon as their inputs are committed, under the concurrency limit.

One engine runs, resumes and replays a plan; what differs is where its records go (`Sink`: the
run store, or a replay comparing each record with the recording) and each step's `World`. Every
step is one call of the one pipeline (`Executor.call`).

Completed steps are committed in groups (every step that finished while the engine waited),
and a dependent step starts only after its inputs are committed, so a process kill never loses
a step something else already used. A step's parameters are bound by `bind_step`, the one
function that resolves a plan's literals, for runs, resumes and replays alike.

As it goes, the engine reports events (run started, step started, attempt, step committed,
approval needed, run ended) to its sink and to observers: live progress, server-sent events and
metrics read them; they are not part of the canonical trace. A step whose approval has no
decision yet pauses (its dependents wait, the rest goes on) and the run ends `waiting_approval`;
`request_stop` stops the run between steps (a cancel asked through the store).
"""

from __future__ import annotations

import asyncio
import contextvars
import heapq
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from aos_core.budget.account import Account
from aos_core.contracts.cost import Cost, CostTally
from aos_core.contracts.errors import ErrorCode, make_error
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import Plan, PlanStep
from aos_core.contracts.plan_steps import step_ids
from aos_core.contracts.runs import Loader, RunResult, RunStatus, StepOutcomes
from aos_core.execution.calling import Waits
from aos_core.execution.pipeline import CallScope, Executor
from aos_core.execution.state import RunState
from aos_core.execution.world import ApprovalPending, World
from aos_core.planning.references import UnresolvedReference
from aos_core.planning.validation import plan_graph
from aos_core.runs.binding import bind_step
from aos_core.runs.trace import recorded_outcome, step_record

if TYPE_CHECKING:
    from aos_core.observability.instruments import RunProbe

__all__ = ["RunEngine", "Sink", "end_record"]

Finished = tuple[dict[str, Any], StructuredOutcome]
Observer = Callable[[dict[str, Any]], None]


class Sink(Protocol):
    """Where an engine's records go."""

    def starting(self, step: PlanStep, params: Any) -> None:
        """Called before a step's call starts (a replay checks its parameters here)."""
        ...

    def commit(self, records: list[dict[str, Any]]) -> None: ...

    def finish(self, status: RunStatus, end: dict[str, Any] | None) -> None: ...

    def event(self, event: dict[str, Any]) -> None:
        """An event the run reported (kept, or not, as the sink sees fit)."""
        ...

    def wait_for_approval(self, step_id: str, request: dict[str, Any]) -> None:
        """A step pauses until its approval is decided."""
        ...


class RunEngine:
    """Runs one plan to completion, to its first failure (when the policy says stop), or until
    it is cancelled."""

    def __init__(
        self,
        *,
        run_id: str,
        plan: Plan,
        executor: Executor,
        accounts: tuple[Account, ...],
        sink: Sink,
        waits: Waits,
        world_for: Callable[[str, RunState], World],
        in_flight_limit: int,
        currency: str,
        observers: tuple[Observer, ...] = (),
    ) -> None:
        self.run_id = run_id
        self.plan = plan
        self.executor = executor
        self.accounts = accounts
        self.sink = sink
        self.waits = waits
        self.world_for = world_for
        self.limit = max(1, in_flight_limit)
        self.currency = currency
        self.policy = executor.policy
        self.state = RunState()
        self._spent = CostTally(currency)  # `spent`: summed as it goes, a `Cost` built when asked
        self.order = list(step_ids(plan.steps))  # the ids, without making each step (plan_steps.py)
        self.position = {step_id: i for i, step_id in enumerate(self.order)}  # a step: plan.steps[position]
        self.deps = (graph := plan_graph(plan)).dependencies
        self.referencing = {step_id for step_id, found in graph.references.items() if found}
        # per step: a flag; its outcome only if it failed or the sink cannot read it back; its output
        # only if a later step references it (holding all of them: ~0.8 KiB a step, bench case 6)
        self.referenced = {ref.step for found in graph.references.values() for ref in found}
        self.done = bytearray(len(self.order))
        self.kept: dict[str, StructuredOutcome] = {}
        self.load: Loader | None = getattr(sink, "load", None)
        self.outcomes = StepOutcomes(self.order, self.position, self.done, self.kept, self.load)
        self.outputs: dict[str, Any] = {}
        self.dependents: dict[str, list[str]] = {}  # only steps something depends on
        for step_id, ups in self.deps.items():
            for up in ups:
                self.dependents.setdefault(up, []).append(step_id)
        self.lost: dict[str, list[dict[str, Any]]] = {}  # step -> worst cases of attempts lost in a crash
        self.pending: set[str] = set()  # steps waiting for a decision (not repeated after a crash)
        self.waiting: set[str] = set()  # steps waiting for an approval decision
        self.observers = list(observers)
        self.seq = 0  # the last event's number (a resume continues the run's numbering)
        self.traceparent: str | None = None  # the caller's W3C trace context, kept with the run
        self._probe: RunProbe | None = None  # the run as metrics, spans and logs see it
        self._stopped: RunStatus | None = None  # `request_stop`'s status, once asked while running
        self._woken: asyncio.Future[None] | None = None  # what `run` awaits: a step done, a stop
        self._finished_tasks: list[asyncio.Task[Finished | None]] = []  # done, not yet taken
        self.draining = False  # `drain`: start no step, end `interrupted` once those in flight commit
        self.reused: list[str] = []  # steps a resume took as committed, repeated, or left for a decision
        self.repeated, self.not_repeated = list[str](), list[str]()

    # -- what a resume carries over ----------------------------------------------------------------
    def take_committed(self, step_id: str, record: dict[str, Any]) -> None:
        """A step committed before: its outcome, output, state writes and spend."""
        outcome = recorded_outcome(record, self.run_id)
        for attempt in record.get("attempts") or []:
            self.state.apply(attempt.get("state_writes") or {})
        self._done(step_id, outcome, record)
        self.reused.append(step_id)

    def _done(self, step_id: str, outcome: StructuredOutcome, record: dict[str, Any]) -> None:
        self.done[self.position[step_id]] = 1
        if not outcome.ok or self.load is None:
            self.kept[step_id] = outcome
        if outcome.ok and step_id in self.referenced:
            self.outputs[step_id] = outcome.output
        self._spent.add(outcome.cost)
        for lost in record.get("lost") or []:
            self._spent.add(Cost.model_validate(lost["cost"]))

    @property
    def spent(self) -> Cost:
        """What the run spent so far, its lost attempts' worst cases included."""
        return self._spent.cost()

    # -- events ------------------------------------------------------------------------------------
    @property
    def listening(self) -> bool:
        """Whether anyone hears events (an observer, or a sink that keeps them): when nobody
        does, none is built (three per step, ~2 µs each with its timestamp)."""
        return bool(self.observers) or bool(getattr(self.sink, "keep_events", False))

    def emit(self, kind: str, **data: Any) -> None:
        """Report an event to the sink and every observer; an observer that fails is dropped."""
        if not self.listening:
            return
        self.seq += 1
        event = {"seq": self.seq, "run_id": self.run_id, "kind": kind, "at": self.executor.clock.now().isoformat()}
        event.update(data)
        self.sink.event(event)
        for observer in list(self.observers):
            try:
                observer(event)
            except Exception:  # noqa: BLE001 - a broken observer (a progress bar) must not break the run
                self.observers.remove(observer)

    def request_stop(self, status: RunStatus = "cancelled") -> None:
        """Stop the run between steps: nothing new starts, steps in flight are abandoned."""
        if self._woken is not None and self._stopped is None:
            self._stopped = status
            self._wake()

    def _wake(self, task: asyncio.Task[Finished | None] | None = None) -> None:
        """A step's task is done (its done callback), or a stop was asked: `run` goes on."""
        if task is not None:
            self._finished_tasks.append(task)
        woken = self._woken
        if woken is not None and not woken.done():
            woken.set_result(None)

    def drain(self) -> None:
        """Start no more steps; once the steps in flight are committed, the run ends `interrupted`
        (resumable) if any step is left. Safe to call from another thread."""
        self.draining = True

    # -- running -----------------------------------------------------------------------------------
    async def run(self) -> RunResult:
        # the upstream steps each waiting step still needs (only steps that wait for one)
        remaining = {k: ups for k, v in self.deps.items() if v and (ups := {d for d in v if d not in self.outcomes})}
        skipped: set[str] = set()
        stop = False
        for step_id, outcome in self.kept.items():  # every failed step's outcome is kept
            if not outcome.ok:
                stop = stop or self.policy.on_step_failure == "stop"
                skipped |= self._downstream(step_id)
        for step_id in self.pending:
            skipped |= self._downstream(step_id)
        ready = [
            self.position[s]
            for s in self.order
            if s not in self.outcomes and s not in self.pending and s not in remaining and s not in skipped
        ]
        heapq.heapify(ready)
        tasks: dict[asyncio.Task[Finished | None], str] = {}
        loop = asyncio.get_running_loop()
        # one future to wait for, set by a finishing step's done callback (one context for all of
        # them): `asyncio.wait` added a callback with a copied context to each task at every wake-up
        context = contextvars.copy_context()
        finished_tasks, wake = self._finished_tasks, self._wake  # one bound method for every task
        self._woken = loop.create_future()
        inst = self.executor.instruments
        if inst is not None:
            resumed = bool(self.outcomes or self.lost)
            self._probe = inst.run_started(self.run_id, len(self.order), resumed, self.traceparent)
        self.emit("run_started", steps=len(self.order), committed=len(self.outcomes))
        try:
            while True:
                while ready and not stop and not self.draining and len(tasks) < self.limit:
                    step = self.plan.steps[heapq.heappop(ready)]
                    if step.id not in skipped:
                        task = loop.create_task(self._step(step))
                        task.add_done_callback(wake, context=context)
                        tasks[task] = step.id
                if not tasks:
                    break
                if not finished_tasks and self._stopped is None:
                    self._woken = loop.create_future()
                    await self._woken
                if self._stopped is not None:
                    await self._abandon(tasks)
                    return self._finish(skipped, stopped=self._stopped)
                finished = []
                done, finished_tasks[:] = finished_tasks[:], ()
                for task in done:
                    step_id, result = tasks.pop(task), task.result()
                    if result is None:
                        self.waiting.add(step_id)  # paused for its approval: its dependents wait too
                    else:
                        finished.append((step_id, result))
                finished.sort(key=lambda f: self.position[f[0]])
                self.sink.commit([record for _, (record, _) in finished])
                if self._probe is not None:
                    self._probe.committed([outcome for _, (_, outcome) in finished])
                for step_id, (record, outcome) in finished:
                    self._done(step_id, outcome, record)
                    self._committed(step_id, outcome)
                    if outcome.ok:
                        for down in self.dependents.get(step_id, ()):
                            needs = remaining.get(down)
                            if needs is None:
                                continue
                            needs.discard(step_id)
                            if not needs:
                                del remaining[down]
                                if down not in skipped and down not in self.pending:
                                    heapq.heappush(ready, self.position[down])
                    else:
                        stop = stop or self.policy.on_step_failure == "stop"
                        skipped |= self._downstream(step_id)
                del done, finished  # this batch's tasks and records go before the next batch starts
        except asyncio.CancelledError as exc:
            await self._abandon(tasks)
            self.emit("run_ended", status="interrupted", failed_step=None, spent=self.spent.model_dump(mode="json"))
            self.sink.finish("interrupted", None)
            if self._probe is not None:
                self._probe.ended("interrupted", exc)
            raise
        except BaseException as exc:
            await self._abandon(tasks, commit=False)
            if self._probe is not None:
                self._probe.ended("interrupted", exc)
            raise
        left = self.draining and not stop and any(self.order[p] not in skipped for p in ready)
        return self._finish(skipped, stopped="interrupted" if left else None)

    def _committed(self, step_id: str, outcome: StructuredOutcome) -> None:
        if not self.listening:
            return
        error = outcome.error
        self.emit(
            "step_committed",
            step_id=step_id,
            ok=outcome.ok,
            error=None if error is None else error.code.value,
            attempts=outcome.attempts,
            cost=outcome.cost.model_dump(mode="json"),
            duration_ms=outcome.duration_ms,
        )

    async def _step(self, step: PlanStep) -> Finished | None:
        """Run a step: its record and outcome, or None when it paused for an approval."""
        try:
            params, bind = bind_step(step.params, self.outputs, step.id in self.referencing)
        except UnresolvedReference as exc:
            error = make_error(ErrorCode.INVALID_INPUT, f"step {step.id}: {exc}", details={"step": step.id})
            failed = StructuredOutcome(ok=False, error=error, skill=step.skill, trace_id=self.run_id, step_id=step.id)
            return step_record(step.id, step.skill, None, failed, None, self.lost.get(step.id)), failed
        self.sink.starting(step, params)
        if self.listening:
            self.emit("step_started", step_id=step.id, skill=step.skill)
        world = self.world_for(step.id, self.state)
        probe = self._probe
        parent, traceparent = (None, self.traceparent) if probe is None else (probe.parent, probe.traceparent)
        scope = CallScope(step.id, self.run_id, world, self.waits, self.accounts, bind, parent, traceparent)
        try:
            outcome = await self.executor.call(step.skill, params, scope)
        except ApprovalPending as pending:
            request = pending.request
            data = {"skill": request.skill, "side_effects": request.side_effects, "params": request.params}
            self.sink.wait_for_approval(step.id, data)
            self.emit("approval_needed", step_id=step.id, **data)
            if probe is not None:
                probe.approval_needed(step.skill)
            return None
        record = getattr(world, "record", None)
        return step_record(step.id, step.skill, params, outcome, record, self.lost.get(step.id)), outcome

    async def _abandon(self, tasks: Mapping[asyncio.Task[Finished | None], str], commit: bool = True) -> None:
        """On cancellation: keep what finished for real, never commit a step cut short."""
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        if not commit:
            return
        keep = []
        for result in results:
            if isinstance(result, tuple):
                record, outcome = result
                if outcome.ok or (outcome.error is not None and outcome.error.code != ErrorCode.CANCELLED):
                    keep.append(record)
        self.sink.commit(keep)

    def _downstream(self, step_id: str) -> set[str]:
        found: set[str] = set()
        stack = list(self.dependents.get(step_id, ()))
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self.dependents.get(current, ()))
        return found

    def _finish(self, skipped: set[str], stopped: RunStatus | None = None) -> RunResult:
        failures = (s for s, o in self.kept.items() if not o.ok)
        failed = min(failures, key=self.position.__getitem__, default=None)
        not_run = [s for s, done in zip(self.order, self.done, strict=True) if not done]
        state = self.executor.secrets.redact(self.state.snapshot())  # it leaves the core: the result, the trace
        status: RunStatus
        end = None
        if stopped is not None:
            status = stopped  # stopped on request: resumable, like an interrupted run
        elif self.waiting:
            status = "waiting_approval"  # resumed when the approvals are decided
        elif self.pending:
            status = "interrupted"  # resumable: a decision is needed for the steps not repeated
        else:
            status = "completed" if failed is None and not not_run else "failed"
            end = end_record(status, failed, not_run, state, self.spent)
        self.emit("run_ended", status=status, failed_step=failed, spent=self.spent.model_dump(mode="json"))
        self.sink.finish(status, end)
        if self._probe is not None:
            self._probe.ended(status)
        return RunResult(
            run_id=self.run_id,
            ok=status == "completed",
            status=status,
            outcomes=self.outcomes,
            failed_step=failed,
            skipped=tuple(not_run) if end is not None else (),
            spent=self.spent,
            state=state,
            resumed=bool(self.reused or self.repeated or self.not_repeated),
            reused=tuple(self.reused),
            repeated_in_flight=tuple(self.repeated),
            not_repeated=tuple(self.not_repeated),
            waiting_for_approval=tuple(sorted(self.waiting, key=self.position.__getitem__)),
        )


def end_record(
    status: str, failed: str | None, skipped: list[str], state: dict[str, Any], spent: Cost
) -> dict[str, Any]:
    return {
        "kind": "end",
        "status": status,
        "failed_step": failed,
        "skipped": skipped,
        "state": state,
        "spent": spent.model_dump(mode="json"),
    }
