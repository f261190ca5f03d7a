"""Replay: re-run a plan against its recorded trace and check it matches byte for byte.

Outcomes come from the recording, so a replay spends nothing and never calls the network or a
model. Each step's parameters are recomputed from the plan and the replayed upstream outputs
and compared with the recorded ones; deterministic skills are re-executed (recorded clock
readings, the same seeded randomness) and their result compared too. The first difference
stops the replay with `NON_DETERMINISTIC` naming the step, recorded against actual.
"""

from __future__ import annotations

import hashlib
from typing import Any

from aos_core.contracts.errors import ErrorCode, make_error
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import Plan
from aos_core.contracts.runs import Divergence, ReplayResult
from aos_core.execution.checks import check_output
from aos_core.execution.clock import ReplayClock
from aos_core.execution.context import Context
from aos_core.execution.effects import Drivers
from aos_core.execution.executor import Executor
from aos_core.execution.secrets import MissingSecret, has_secret_refs, resolve_secret_refs
from aos_core.execution.state import RunState, StateWriter
from aos_core.planning.references import UnresolvedReference, resolve_references
from aos_core.planning.validation import plan_graph
from aos_core.runs.engine import end_record
from aos_core.runs.trace import TraceDocument, same_json

__all__ = ["Replayer"]


class _Diverged(Exception):
    def __init__(self, divergence: Divergence) -> None:
        super().__init__(divergence.reason)
        self.divergence = divergence


class Replayer:
    """Replays one trace with the runtime's loaded skills."""

    def __init__(
        self, trace: TraceDocument, plan: Plan, executor: Executor, drivers: Drivers, recorded_plan: bool = False
    ) -> None:
        self.trace = trace
        self.plan = plan
        self.executor = executor
        self.drivers = drivers
        self.seed = int(trace.header["seed"])
        self.state = RunState()
        self.outcomes: dict[str, StructuredOutcome] = {}
        self.outputs: dict[str, Any] = {}
        self._references = plan_graph(plan).references  # steps without references keep their params as planned
        # replaying the recorded plan: its header is the recorded one (no need to dump the plan again)
        header = trace.header if recorded_plan else dict(trace.header, plan=plan.model_dump(mode="json"))
        self.replayed = TraceDocument(header)
        self.reexecuted: list[str] = []
        self.replayed_text = ""

    async def replay(self, run_id: str | None) -> ReplayResult:
        try:
            await self._steps()
            self._compare_end()
        except _Diverged as diverged:
            return self._result(run_id, diverged.divergence)
        return self._result(run_id, None)

    async def _steps(self) -> None:
        recorded_skips = set((self.trace.end or {}).get("skipped", []))
        deps = plan_graph(self.plan).dependencies
        failed: set[str] = set()
        for step in self.plan.steps:  # replayed in plan order, one step at a time
            record = self.trace.steps.get(step.id)
            if record is None:
                if step.id in recorded_skips:
                    failed.add(step.id)
                    continue
                raise _Diverged(Divergence(step_id=step.id, reason="this step is not in the recording"))
            if deps[step.id] & failed:
                raise _Diverged(Divergence(step_id=step.id, reason="recorded as run, but an upstream step failed"))
            outcome = await self._step(step.id, step.skill, step.params, record)
            if not outcome.ok:
                failed.add(step.id)
        planned = {p.id for p in self.plan.steps}
        extra = [s for s in self.trace.step_order() if s not in planned]
        if extra:
            raise _Diverged(Divergence(step_id=extra[0], reason="recorded step is not in the plan being replayed"))

    async def _step(self, step_id: str, skill: str, plan_params: Any, record: dict[str, Any]) -> StructuredOutcome:
        if record.get("skill") != skill:
            raise _Diverged(
                Divergence(
                    step_id=step_id, reason="the step calls another skill", recorded=record.get("skill"), actual=skill
                )
            )
        try:
            params = resolve_references(plan_params, self.outputs) if self._references[step_id] else plan_params
        except UnresolvedReference as exc:
            params = None
            if record.get("params") is not None:
                raise _Diverged(Divergence(step_id=step_id, reason=str(exc), recorded=record.get("params"))) from None
        if not same_json(params, record.get("params")):
            raise _Diverged(
                Divergence(
                    step_id=step_id,
                    reason="the step gets different parameters than recorded",
                    recorded=record.get("params"),
                    actual=params,
                )
            )
        outcome = StructuredOutcome.model_validate(record["outcome"])
        entry = self.executor.registry.skills.get(skill)
        attempts = record.get("attempts") or []
        if entry is not None and entry.metadata.deterministic and attempts and params is not None:
            await self._reexecute(step_id, entry, params, attempts[-1], outcome)
        for attempt in attempts:
            self.state.apply(attempt.get("state_writes") or {})
        self.outcomes[step_id] = outcome
        if outcome.ok:
            self.outputs[step_id] = outcome.output
        self.executor.ledger.record(outcome.cost)
        self.replayed.steps[step_id] = record  # its params were just shown identical, so the line is too
        if step_id in self.trace.raw_steps:
            self.replayed.raw_steps[step_id] = self.trace.raw_steps[step_id]
        return outcome

    async def _reexecute(
        self, step_id: str, entry: Any, params: Any, attempt: dict[str, Any], recorded: StructuredOutcome
    ) -> None:
        """Run a deterministic skill again on the recorded inputs and compare what it does."""
        try:
            resolved = resolve_secret_refs(params, self.executor.secrets) if has_secret_refs(params) else params
        except MissingSecret:
            return  # cannot re-run without the secret; the recorded outcome stands unverified
        prep = self.executor.prepared(entry.metadata.name)
        try:
            model = prep.validate_input(resolved) if prep is not None else None
        except Exception:  # noqa: BLE001 - the recorded outcome says what validation gave; compare below
            model = None
        clock = ReplayClock(list(attempt.get("clock") or []))
        writer = StateWriter(self.state, apply=False)
        ctx = Context(
            clock,
            self.executor.secrets,
            self.executor.policy,
            writer,
            self.executor.skill_config.get(entry.metadata.name, {}),
            step_id,
            int(attempt.get("attempt", 1)),
            float(entry.metadata.timeout_ms),
            self.executor.pool,
            self.seed,
        )
        if model is None:
            actual: Any = {"ok": False, "error": "SCHEMA_VALIDATION_FAILED"}
        else:
            timeout = entry.metadata.timeout_ms / 1000.0
            if entry.is_async or entry.metadata.blocking:
                status, value = await self.drivers.run_async(
                    _as_pipeline(self.executor.call(entry, model, ctx, timeout))
                )
            else:  # inline: no generator, no event-loop round trip
                status, value = self.executor.call_inline(entry, model, ctx, timeout)
            if status == "ok":
                output, error = check_output(entry, value, self.executor.max_output_bytes)
                actual = {"ok": True, "output": output} if error is None else {"ok": False, "error": error.code.value}
            elif status == "raised":
                from aos_core.failures import classify_exception

                actual = {
                    "ok": False,
                    "error": classify_exception(value, self.executor.classifiers, entry.metadata).code.value,
                }
            else:
                actual = {"ok": False, "error": "TIMEOUT" if status == "timeout" else "CANCELLED"}
        expected = (
            {"ok": True, "output": recorded.output}
            if recorded.ok
            else {"ok": False, "error": recorded.error.code.value if recorded.error else None}
        )
        if not same_json(actual, expected):
            raise _Diverged(
                Divergence(
                    step_id=step_id,
                    reason="the skill now produces a different result",
                    recorded=expected,
                    actual=actual,
                )
            )
        clock_problem = clock.finish()
        if clock_problem:
            raise _Diverged(Divergence(step_id=step_id, reason=f"the skill {clock_problem}"))
        if not same_json(writer.writes, attempt.get("state_writes") or {}):
            raise _Diverged(
                Divergence(
                    step_id=step_id,
                    reason="the skill writes different state",
                    recorded=attempt.get("state_writes"),
                    actual=writer.writes,
                )
            )
        self.reexecuted.append(step_id)

    def _compare_end(self) -> None:
        recorded = self.trace.end
        if recorded is None:
            raise _Diverged(
                Divergence(step_id=None, reason="the recorded run never finished; resume it before replaying")
            )
        spent = self.executor.ledger.spent()  # every replayed step's recorded cost, counted once
        skipped = [s.id for s in self.plan.steps if s.id not in self.outcomes]
        failed = next((s.id for s in self.plan.steps if s.id in self.outcomes and not self.outcomes[s.id].ok), None)
        status = "completed" if failed is None and not skipped else "failed"
        self.replayed.end = end_record(status, failed, skipped, self.state.snapshot(), spent)
        if not same_json(self.replayed.end, recorded):
            raise _Diverged(
                Divergence(step_id=None, reason="the run ends differently", recorded=recorded, actual=self.replayed.end)
            )
        self.replayed_text = self.replayed.text()
        if self.replayed_text != self.trace.text():
            raise _Diverged(Divergence(step_id=None, reason="the canonical traces differ"))

    def _result(self, run_id: str | None, divergence: Divergence | None) -> ReplayResult:
        error = None
        if divergence is not None:
            where = f"step {divergence.step_id}: " if divergence.step_id else ""
            error = make_error(
                ErrorCode.NON_DETERMINISTIC,
                f"replay diverged at {where}{divergence.reason}",
                details={"step": divergence.step_id, "recorded": divergence.recorded, "actual": divergence.actual},
            )
        ordered = {s.id: self.outcomes[s.id] for s in self.plan.steps if s.id in self.outcomes}
        return ReplayResult(
            matched=divergence is None,
            run_id=run_id,
            error=error,
            divergence=divergence,
            outcomes=ordered,
            state=self.state.snapshot(),
            spent=self.executor.ledger.spent(),
            reexecuted=tuple(self.reexecuted),
            trace_sha256=hashlib.sha256(self.replayed_text.encode()).hexdigest() if divergence is None else None,
        )


def _as_pipeline(generator: Any) -> Any:
    result = yield from generator
    return result
