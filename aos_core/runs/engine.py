"""The run engine: steps start as soon as their inputs are committed, under the concurrency limit.

Completed steps are committed in groups (every step that finished while the engine was
waiting), and a dependent step starts only after its inputs are committed, so a process kill
never loses a step something else already used. A side-effecting step is durably marked as
started before it runs, so a resume can tell which ones were in flight.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Mapping
from typing import Any

from aos_core.contracts.cost import Cost
from aos_core.contracts.errors import ErrorCode, make_error
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import Plan, PlanStep
from aos_core.contracts.runs import RunResult, RunStatus
from aos_core.contracts.skill import SideEffect
from aos_core.execution.effects import Drivers
from aos_core.execution.executor import CallScope, Executor
from aos_core.execution.secrets import MissingSecret, has_secret_refs, resolve_secret_refs
from aos_core.execution.state import RunState
from aos_core.planning.references import UnresolvedReference, resolve_references
from aos_core.planning.validation import plan_graph
from aos_core.runs.store import RunStore, StoredRun
from aos_core.runs.trace import step_record

__all__ = ["RunEngine", "end_record", "sum_costs"]

Finished = tuple[dict[str, Any], StructuredOutcome]
_BATCH = 256  # at most this many finished steps wait for one commit


class RunEngine:
    """Runs one plan to completion (or to its first failure, when the policy says stop)."""

    def __init__(
        self,
        *,
        run_id: str,
        plan: Plan,
        executor: Executor,
        drivers: Drivers,
        store: RunStore,
        in_flight_limit: int,
    ) -> None:
        self.run_id = run_id
        self.plan = plan
        self.executor = executor
        self.drivers = drivers
        self.store = store
        self.limit = max(1, in_flight_limit)
        self.policy = executor.policy
        self.state = RunState()
        self.outcomes: dict[str, StructuredOutcome] = {}
        self.outputs: dict[str, Any] = {}
        self.position = {step.id: i for i, step in enumerate(plan.steps)}
        self.order = [step.id for step in plan.steps]
        self.steps = {step.id: step for step in plan.steps}
        self.graph = plan_graph(plan)
        self.deps = self.graph.dependencies
        self.with_secrets = {step.id for step in plan.steps if has_secret_refs(step.params)}
        self.dependents: dict[str, list[str]] = {s: [] for s in self.steps}
        for step_id, ups in self.deps.items():
            for up in ups:
                self.dependents[up].append(step_id)
        self.reused: list[str] = []
        self.repeated: list[str] = []
        self.not_repeated: list[str] = []

    # -- resume --------------------------------------------------------------------------------
    def restore(self, stored: StoredRun) -> None:
        """Take committed steps as done; decide what to do with steps that were in flight."""
        for step_id in stored.trace.step_order():
            record = stored.trace.steps[step_id]
            outcome = StructuredOutcome.model_validate({**record["outcome"], "trace_id": self.run_id})
            self.outcomes[step_id] = outcome
            if outcome.ok:
                self.outputs[step_id] = outcome.output
            for attempt in record.get("attempts", []):
                self.state.apply(attempt.get("state_writes") or {})
            self.executor.ledger.record(outcome.cost)
            self.reused.append(step_id)
        refused = []
        for step_id in stored.in_flight:
            step = self.steps.get(step_id)
            if step is None:
                continue
            entry = self.executor.registry.skills.get(step.skill)
            repeatable = entry is None or entry.metadata.idempotent or self.policy.repeat_in_flight
            if repeatable:
                self.repeated.append(step_id)
                continue
            error = make_error(
                ErrorCode.CANCELLED,
                f"step {step_id} ({step.skill}) was in flight when the run stopped; its side effects may have "
                "happened, so it is not repeated (not idempotent); set policy.repeat_in_flight to repeat it",
                details={"reason": "in_flight_at_crash", "step": step_id},
            )
            refusal = StructuredOutcome(
                ok=False,
                error=error,
                skill=step.skill,
                skill_version=entry.metadata.version if entry else "",
                trace_id=self.run_id,
                step_id=step_id,
            )
            self.outcomes[step_id] = refusal
            refused.append(step_record(step_id, step.skill, None, refusal, []))
            self.not_repeated.append(step_id)
        self.store.commit_steps(self.run_id, refused)

    # -- running -------------------------------------------------------------------------------
    async def run(self) -> RunResult:
        remaining = {k: {d for d in v if d not in self.outcomes} for k, v in self.deps.items()}
        skipped: set[str] = set()
        stop = False
        failed_first: str | None = None
        for step_id, outcome in self.outcomes.items():
            if not outcome.ok:
                failed_first = failed_first or step_id
                stop = stop or self.policy.on_step_failure == "stop"
                skipped |= self._downstream(step_id)
        ready = [
            self.position[s] for s in self.steps if s not in self.outcomes and not remaining[s] and s not in skipped
        ]
        heapq.heapify(ready)
        tasks: dict[asyncio.Task[Finished], str] = {}
        finished: list[tuple[str, Finished]] = []
        try:
            while True:
                while ready and not stop and len(tasks) < self.limit and len(finished) < _BATCH:
                    step_id = self.order[heapq.heappop(ready)]
                    if step_id in skipped:
                        continue
                    started = self._start(self.steps[step_id])
                    if isinstance(started, asyncio.Task):
                        tasks[started] = step_id
                    else:  # finished without waiting for anything: no task, no event-loop round trip
                        finished.append((step_id, started))
                        if not started[1].ok and self.policy.on_step_failure == "stop":
                            break  # start nothing more; the failure is handled after the commit
                if finished:
                    finished += [(tasks.pop(t), t.result()) for t in [t for t in tasks if t.done()]]
                elif tasks:
                    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
                    finished = [(tasks.pop(t), t.result()) for t in done]
                else:
                    break
                finished.sort(key=lambda item: self.position[item[0]])
                self.store.commit_steps(self.run_id, [record for _, (record, _) in finished])
                for step_id, (_, outcome) in finished:
                    self.outcomes[step_id] = outcome
                    if outcome.ok:
                        self.outputs[step_id] = outcome.output
                        for down in self.dependents[step_id]:
                            remaining[down].discard(step_id)
                            if not remaining[down] and down not in skipped and down not in self.outcomes:
                                heapq.heappush(ready, self.position[down])
                    else:
                        failed_first = failed_first or step_id
                        stop = stop or self.policy.on_step_failure == "stop"
                        skipped |= self._downstream(step_id)
                finished = []
                if tasks:
                    await asyncio.sleep(0)  # let running steps progress between batches
        except asyncio.CancelledError:
            self.store.commit_steps(self.run_id, [record for _, (record, _) in finished])
            await self._abandon(tasks)
            self.store.set_status(self.run_id, "interrupted")
            raise
        skipped |= {s for s in self.steps if s not in self.outcomes}
        return self._finish(failed_first, skipped)

    def _start(self, step: PlanStep) -> Finished | asyncio.Task[Finished]:
        """Start a step: finished at once if it never had to wait, else a task that finishes it."""
        try:
            params = resolve_references(step.params, self.outputs) if self.graph.references[step.id] else step.params
            resolved = self._with_secrets(step.params, params) if step.id in self.with_secrets else params
        except UnresolvedReference as exc:
            error = make_error(ErrorCode.INVALID_INPUT, f"step {step.id}: {exc}", details={"step": step.id})
            failed = StructuredOutcome(ok=False, error=error, skill=step.skill, trace_id=self.run_id, step_id=step.id)
            return step_record(step.id, step.skill, None, failed, []), failed
        entry = self.executor.registry.skills.get(step.skill)
        if entry is not None and entry.metadata.side_effects != SideEffect.NONE:
            self.store.mark_started(self.run_id, step.id)
        scope = CallScope(step.id, self.run_id, self.state, record=True)
        pipeline = self.executor.pipeline(step.skill, params, scope, resolved=resolved)
        try:
            effect = next(pipeline)
        except StopIteration as stop:
            return self._recorded(step, params, scope, stop.value)
        return asyncio.ensure_future(self._continue(step, params, scope, pipeline, effect))

    async def _continue(self, step: PlanStep, params: Any, scope: CallScope, pipeline: Any, effect: Any) -> Finished:
        outcome = await self.drivers.resume_async(pipeline, effect)
        return self._recorded(step, params, scope, outcome)

    def _recorded(self, step: PlanStep, params: Any, scope: CallScope, outcome: StructuredOutcome) -> Finished:
        secrets = self.executor.secrets
        for attempt in scope.attempts:
            attempt.state_writes = secrets.redact(attempt.state_writes)
        return step_record(step.id, step.skill, params, outcome, scope.attempts), outcome

    def _with_secrets(self, literal: Any, params: Any) -> Any:
        """Secrets resolved in the plan's own text first, then step outputs substituted, so a
        `${secrets...}` inside fetched data is passed on as text and never resolved."""
        if not has_secret_refs(literal):
            return params
        try:
            with_secrets = resolve_secret_refs(literal, self.executor.secrets)
        except MissingSecret:
            return None  # the executor reports the missing secret
        return resolve_references(with_secrets, self.outputs)

    async def _abandon(self, tasks: Mapping[asyncio.Task[Any], str]) -> None:
        """On cancellation: keep what finished for real, never commit a step cut short."""
        for task in tasks:
            task.cancel()
        results = await asyncio.gather(*tasks, return_exceptions=True)
        keep = []
        for result in results:
            if isinstance(result, tuple):
                record, outcome = result
                if outcome.ok or (outcome.error is not None and outcome.error.code != ErrorCode.CANCELLED):
                    keep.append(record)
        self.store.commit_steps(self.run_id, keep)

    def _downstream(self, step_id: str) -> set[str]:
        found: set[str] = set()
        stack = list(self.dependents[step_id])
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self.dependents[current])
        return found

    def _finish(self, failed_first: str | None, skipped: set[str]) -> RunResult:
        ordered = {s.id: self.outcomes[s.id] for s in self.plan.steps if s.id in self.outcomes}
        failed = next((s for s, o in ordered.items() if not o.ok), None) or failed_first
        status: RunStatus = "completed" if failed is None and not skipped else "failed"
        spent = sum_costs(ordered.values(), self.executor.ledger.contract.currency)
        skipped_list = sorted(skipped, key=self.position.__getitem__)
        state = self.state.snapshot()
        self.store.finish_run(self.run_id, status, end_record(status, failed, skipped_list, state, spent))
        return RunResult(
            run_id=self.run_id,
            ok=status == "completed",
            status=status,
            outcomes=ordered,
            failed_step=failed,
            skipped=tuple(skipped_list),
            spent=spent,
            state=state,
            resumed=bool(self.reused or self.repeated or self.not_repeated),
            reused=tuple(self.reused),
            repeated_in_flight=tuple(self.repeated),
            not_repeated=tuple(self.not_repeated),
        )


def sum_costs(outcomes: Any, currency: str) -> Cost:
    total = Cost(currency=currency)
    for outcome in outcomes:
        total = total + outcome.cost
    return total


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
