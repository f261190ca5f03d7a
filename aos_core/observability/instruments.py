"""The one interface the pipeline and the run engine report to.

`Executor.instruments` is None when metrics, tracing and logs are all off: the pipeline then
pays one `is None` test per call and per attempt. When something is on, it is an `Instruments`,
and each call gets a `CallProbe` (its span, its log context, what its attempts waited), each
run a `RunProbe` (its span, its start). Metrics, spans and log events are all made here, from
what the pipeline and the engine hand over; neither of them knows which are on.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from aos_core.observability import genai
from aos_core.observability.logs import StepContext, current, step_logger
from aos_core.observability.metrics import Metrics, skill_label
from aos_core.observability.tracing import Tracing, trace_id_of

if TYPE_CHECKING:
    from aos_core.contracts.errors import ErrorInfo
    from aos_core.contracts.outcome import StructuredOutcome

__all__ = ["CallProbe", "Instruments", "RunProbe"]


class Instruments:
    """Metrics (a `Metrics`, or None), tracing (a `Tracing`, or None) and step logs (on or off),
    for one runtime; `secrets` redact what reaches a span or a log line."""

    __slots__ = ("log", "logs", "metrics", "secrets", "tracing")

    def __init__(self, metrics: Metrics | None, tracing: Tracing | None, logs: bool, secrets: Any) -> None:
        self.metrics = metrics
        self.tracing = tracing
        self.logs = logs
        self.log = step_logger()
        self.secrets = secrets

    def call_started(self, name: Any, prep: Any, scope: Any) -> CallProbe:
        return CallProbe(self, name, prep, scope)

    def run_started(self, run_id: str, steps: int, resumed: bool, traceparent: str | None) -> RunProbe:
        return RunProbe(self, run_id, steps, resumed, traceparent)

    def replayed(self, matched: bool) -> None:
        if self.metrics is not None:
            self.metrics.replayed(matched)


class CallProbe:
    """One skill call as the instruments see it."""

    __slots__ = ("attempt_span", "inst", "prep", "scope", "skill", "span", "spans", "token", "waited", "waits")

    def __init__(self, inst: Instruments, name: Any, prep: Any, scope: Any) -> None:
        self.inst = inst
        # True when each attempt has a span; else the pipeline reports only attempts that waited
        # for a rate limit or are retried (what the metrics count), and sets ctx.traceparent itself
        self.spans = inst.tracing is not None
        self.prep = prep
        self.scope = scope
        self.skill = prep.name if prep is not None else skill_label(name, False)
        self.waits = 0
        self.waited = 0.0
        self.span: Any = None
        self.attempt_span: Any = None
        self.token: Any = None
        if inst.tracing is not None or inst.logs:
            self._open(inst.tracing, scope)

    def _open(self, tracing: Tracing | None, scope: Any) -> None:
        """The call's span, and the log context of its lines."""
        trace_id, span_id = trace_id_of(scope.traceparent), None
        if tracing is not None:
            attributes = genai.tool_attributes(self.skill)
            attributes["aos.step.id"] = scope.step_id
            if scope.trace_id:
                attributes["aos.run.id"] = scope.trace_id
            span = self.span = tracing.start(f"execute_tool {self.skill}", scope.parent, attributes)
            context = span.get_span_context()
            if context.is_valid:
                trace_id, span_id = f"{context.trace_id:032x}", f"{context.span_id:016x}"
        self.token = current.set(StepContext(scope.trace_id, scope.step_id, trace_id, span_id, self.inst.secrets))

    # -- attempts ----------------------------------------------------------------------------------
    def attempt_started(self, attempt: int, ctx: Any, admitted: Any) -> None:
        """Before the skill is called: the attempt's span, and the traceparent the skill sends on."""
        if admitted.waited_ms:
            self.waits += 1
            self.waited += admitted.waited_ms / 1000.0
        tracing = self.inst.tracing
        if tracing is None:
            if self.scope.traceparent is not None:
                ctx.traceparent = self.scope.traceparent
            return
        span = self.attempt_span = tracing.start(
            f"aos.attempt {self.skill}",
            tracing.context_of(self.span),
            {"aos.attempt": attempt, "aos.step.id": self.scope.step_id},
            client=bool(self.prep.meta.network),
        )
        ctx.traceparent = tracing.traceparent(span, self.scope.traceparent)

    def attempt_ended(self, model: Any, output: Any, error: ErrorInfo | None, cost: Any, retry: bool) -> None:
        if retry and error is not None and self.inst.metrics is not None:
            self.inst.metrics.retried(self.skill, error.code.value)
        span, self.attempt_span = self.attempt_span, None
        if span is None:
            return
        tracing = self.inst.tracing
        assert tracing is not None
        describe = getattr(self.prep.entry.skill, "gen_ai", None)
        if describe is not None and model is not None:
            try:
                facts = describe(model, output if error is None else None)
            except Exception as exc:  # noqa: BLE001 - a skill's description must never break its call
                span.set_attribute("aos.gen_ai.error", type(exc).__name__)
                facts = None
            if facts:
                secrets = self.inst.secrets
                tracing.model_call(span, secrets.redact(dict(facts)) if secrets.active else dict(facts))
        if cost is not None:
            span.set_attribute("aos.cost.calls", cost.calls)
        tracing.end(span, error)

    # -- the end -------------------------------------------------------------------------------------
    def ended(self, outcome: StructuredOutcome) -> None:
        inst = self.inst
        try:
            if inst.metrics is not None:
                inst.metrics.call_ended(self.skill, outcome, self)
            if inst.logs:
                self._log(outcome)
            if self.span is not None:
                span, cost = self.span, outcome.cost
                span.set_attributes(
                    {
                        "aos.outcome.ok": outcome.ok,
                        "aos.attempts": outcome.attempts,
                        "aos.cost.money": str(cost.money),
                        "aos.cost.currency": cost.currency,
                        "aos.cost.input_tokens": cost.input_tokens,
                        "aos.cost.output_tokens": cost.output_tokens,
                    }
                )
                assert inst.tracing is not None
                inst.tracing.end(span, outcome.error)
        finally:
            if self.token is not None:
                current.reset(self.token)

    def aborted(self, exc: BaseException) -> None:
        """The call was cut short (cancelled, or paused for an approval): close what is open."""
        tracing = self.inst.tracing
        if tracing is not None:
            for span in (self.attempt_span, self.span):
                if span is not None:
                    tracing.fail(span, exc)
        if self.token is not None:
            current.reset(self.token)

    def _log(self, outcome: StructuredOutcome) -> None:
        log = self.inst.log
        error = outcome.error
        level = logging.INFO if error is None else logging.WARNING
        if not log.isEnabledFor(level):
            return
        message = f"{self.skill} ok" if error is None else f"{self.skill} failed: {error.code.value}: {error.message}"
        log.log(
            level,
            message,
            extra={
                "event": "step_outcome",
                "skill": self.skill,
                "ok": outcome.ok,
                "code": "OK" if error is None else error.code.value,
                "category": "OK" if error is None else error.category.value,
                "attempts": outcome.attempts,
                "duration_ms": outcome.duration_ms,
                "cost": outcome.cost.model_dump(mode="json"),
            },
        )


class RunProbe:
    """One run (or one resume of it) as the instruments see it."""

    __slots__ = ("inst", "parent", "span", "started", "traceparent")

    def __init__(self, inst: Instruments, run_id: str, steps: int, resumed: bool, traceparent: str | None) -> None:
        self.inst = inst
        self.started = time.monotonic()
        self.span: Any = None
        self.parent: Any = None  # the context a step's span is started in
        self.traceparent = traceparent  # what a skill sends on when there is no span of its own
        if inst.metrics is not None:
            inst.metrics.run_started(resumed)
        tracing = inst.tracing
        if tracing is not None:
            self.span = tracing.start(
                "aos.run",
                tracing.parent(traceparent),
                {"aos.run.id": run_id, "aos.run.steps": steps, "aos.run.resumed": resumed},
            )
            self.parent = tracing.context_of(self.span)
            self.traceparent = tracing.traceparent(self.span, traceparent)

    def committed(self, outcomes: list[StructuredOutcome]) -> None:
        if self.inst.metrics is not None:
            ok = sum(1 for o in outcomes if o.ok)
            self.inst.metrics.steps_committed(ok, len(outcomes) - ok)

    def approval_needed(self, skill: str) -> None:
        if self.inst.metrics is not None:
            self.inst.metrics.approval_requested(skill)

    def ended(self, status: str, exc: BaseException | None = None) -> None:
        if self.inst.metrics is not None:
            self.inst.metrics.run_ended(status, time.monotonic() - self.started)
        tracing = self.inst.tracing
        if self.span is not None and tracing is not None:
            self.span.set_attribute("aos.run.status", status)
            if exc is not None:
                tracing.fail(self.span, exc)
            else:
                self.span.end()
