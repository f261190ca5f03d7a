"""OpenTelemetry spans: one per run, per step (or direct call) and per attempt.

Imported only when tracing is on (the optional extra `aos-core[otel]`); the OpenTelemetry API
is imported by `Tracing()`, never before. Spans go to the tracer provider given, else the
global one (configure the SDK and its exporter as usual, e.g. with `opentelemetry-instrument`).

The tree: `aos.run` (a run, or a resume of one) > `execute_tool {skill}` (a step, or one
`execute`) > `aos.attempt {skill}` (each attempt; for a model call, renamed `{operation}
{model}` and given the GenAI attributes of `genai.py`). A run's parent is the caller's trace
when a W3C `traceparent` came with it; a direct call's parent is the current span. Attributes
carry names, codes, counts and costs: never parameters, outputs, secrets or keys, and prompt or
completion text only when content capture is on (redacted even then).
"""

from __future__ import annotations

import re
from typing import Any

from aos_core.observability import genai

__all__ = ["TRACEPARENT", "Tracing", "trace_id_of", "valid_traceparent"]

TRACEPARENT = re.compile(r"^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


def valid_traceparent(traceparent: str | None) -> str | None:
    """A W3C traceparent as sent on (lower case), or None when it is missing or not valid (the
    recommendation says to ignore such a header and start a new trace)."""
    if not traceparent:
        return None
    text = traceparent.strip().lower()
    found = TRACEPARENT.match(text)
    if found is None or found.group(1) == "ff" or found.group(2) == "0" * 32 or found.group(3) == "0" * 16:
        return None
    return text


def trace_id_of(traceparent: str | None) -> str | None:
    """The 32-hex trace id of a valid W3C traceparent, or None."""
    valid = valid_traceparent(traceparent)
    return None if valid is None else valid[3:35]


class Tracing:
    """A tracer, the GenAI convention version in force, and whether content is captured."""

    def __init__(self, provider: Any = None, capture_content: bool = False) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, Status, StatusCode
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        from aos_core import __version__

        self._trace = trace
        self.tracer = trace.get_tracer("aos_core", __version__, tracer_provider=provider)
        self.propagator = TraceContextTextMapPropagator()
        self.kinds = {True: SpanKind.CLIENT, False: SpanKind.INTERNAL}
        self.error: Any = lambda code: Status(StatusCode.ERROR, code)
        self.version = genai.semconv_version()
        self.capture_content = capture_content

    def parent(self, traceparent: str | None) -> Any:
        """The OpenTelemetry context a W3C traceparent names (None: the current context)."""
        if not traceparent:
            return None
        return self.propagator.extract({"traceparent": traceparent})

    def start(self, name: str, parent: Any, attributes: dict[str, Any], client: bool = False) -> Any:
        return self.tracer.start_span(name, context=parent, kind=self.kinds[client], attributes=attributes)

    def context_of(self, span: Any) -> Any:
        return self._trace.set_span_in_context(span)

    def traceparent(self, span: Any, fallback: str | None = None) -> str | None:
        """The W3C traceparent naming `span`, for a request it makes (or `fallback` when the span
        has no valid context, e.g. no SDK is configured and there was no parent)."""
        context = span.get_span_context()
        if not context.is_valid:
            return fallback
        return f"00-{context.trace_id:032x}-{context.span_id:016x}-{int(context.trace_flags):02x}"

    def trace_id(self, span: Any) -> str | None:
        context = span.get_span_context()
        return f"{context.trace_id:032x}" if context.is_valid else None

    def end(self, span: Any, error: Any = None) -> None:
        """End `span`; `error` (an `ErrorInfo`) marks it failed with the code as `error.type`."""
        if error is not None:
            span.set_attribute("error.type", error.code.value)
            span.set_status(self.error(error.code.value))
        span.end()

    def fail(self, span: Any, exc: BaseException) -> None:
        """End `span` cut short by an exception (a cancellation, an approval to wait for)."""
        span.set_attribute("error.type", type(exc).__name__)
        span.set_status(self.error(type(exc).__name__))
        span.end()

    def model_call(self, span: Any, facts: dict[str, Any]) -> None:
        """Rename an attempt's span for a model call and give it the GenAI attributes."""
        span.update_name(genai.span_name(facts))
        span.set_attributes(genai.attributes(facts, self.version, self.capture_content))
