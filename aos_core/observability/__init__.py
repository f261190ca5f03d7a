"""Observability: Prometheus metrics, OpenTelemetry traces and structured logs, each off by default.

Switched on per `Runtime` (`Runtime(metrics=True, tracing=True, logs=True)`) or, when those
arguments are left out, by the environment: `AOS_METRICS`, `AOS_TRACING`, `AOS_LOGS` (1, true,
yes or on). `OTEL_SDK_DISABLED=true` switches tracing off whatever else says. Prompt and
completion text go on spans only with `AOS_TRACE_CONTENT` (or OpenTelemetry's
`OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT`) set to true.

When everything is off, `build_instruments` returns None and nothing here but this module is
imported: no prometheus_client, no OpenTelemetry. The pipeline and the run engine then skip
every report with one `is None` test. docs/operations.md says what each metric and alert means.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from aos_core.contracts.exceptions import AOSError

__all__ = ["ObservabilityUnavailable", "build_instruments", "env_flag"]

_TRUE = frozenset({"1", "true", "yes", "on"})


class ObservabilityUnavailable(AOSError):
    """Metrics or tracing were asked for, but their library is not installed."""


def env_flag(name: str, environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get(name, "").strip().lower() in _TRUE


def build_instruments(
    *,
    metrics: Any = None,
    tracing: Any = None,
    logs: bool | None = None,
    secrets: Any,
    reports: Iterable[Any] = (),
) -> Any:
    """The `Instruments` a runtime reports to, or None when metrics, tracing and logs are all off.

    `metrics`: True, False, None (the environment) or a `prometheus_client.CollectorRegistry`
    to use instead of the process's default one. `tracing`: True, False, None (the environment)
    or an OpenTelemetry `TracerProvider` to use instead of the global one. `reports`: the
    runtime's plugin reports (load failures and versions become metrics).
    """
    if metrics is None:
        metrics = env_flag("AOS_METRICS")
    if tracing is None:
        tracing = env_flag("AOS_TRACING")
    if env_flag("OTEL_SDK_DISABLED"):
        tracing = False
    if logs is None:
        logs = env_flag("AOS_LOGS")
    if metrics is False and tracing is False and not logs:
        return None
    from aos_core.observability.instruments import Instruments

    return Instruments(
        _metrics(metrics, reports) if metrics is not False else None,
        _tracing(tracing) if tracing is not False else None,
        bool(logs),
        secrets,
    )


def _metrics(metrics: Any, reports: Iterable[Any]) -> Any:
    from aos_core.observability.metrics import metrics_for

    try:
        found = metrics_for(None if metrics is True else metrics)
    except ImportError:
        raise ObservabilityUnavailable(
            "metrics need prometheus_client: pip install 'aos-core[metrics]' (or unset AOS_METRICS)"
        ) from None
    found.loaded(list(reports), _versions(reports))
    return found


def _tracing(tracing: Any) -> Any:
    from aos_core.observability.tracing import Tracing

    capture = env_flag("AOS_TRACE_CONTENT") or env_flag("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    try:
        return Tracing(None if tracing is True else tracing, capture_content=capture)
    except ImportError:
        raise ObservabilityUnavailable(
            "tracing needs OpenTelemetry: pip install 'aos-core[otel]' (or unset AOS_TRACING)"
        ) from None


def _versions(reports: Iterable[Any]) -> dict[str, str]:
    from aos_core import __version__

    versions = {"aos-core": __version__}
    for report in reports:
        if report.distribution and report.version and report.status == "loaded":
            versions[report.distribution] = report.version
    return versions
