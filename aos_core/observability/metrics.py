"""The Prometheus side: the catalog's metrics as prometheus_client objects, and what a call, a
run or a runtime adds to them.

Imported only when metrics are on (prometheus_client is imported by `Metrics()`, never before).
One `Metrics` per registry: the process's default registry (`prometheus_client.REGISTRY`, so any
exposition of it shows AOS too) unless a `CollectorRegistry` is given. With
`PROMETHEUS_MULTIPROC_DIR` set before the process starts, prometheus_client writes every value
to a file there and one exposition sums the processes (`exposition.render_metrics`).

The hot path is a skill call's end: its label children are looked up once per (skill, code)
and kept here (`_Series`), so a call costs a dict lookup and a few increments.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Iterable
from typing import Any

from aos_core.observability.catalog import METRICS
from aos_core.observability.exposition import BudgetCollector, BudgetSource, multiprocess_dir
from aos_core.observability.tally import CallTally

__all__ = ["Metrics", "metrics_for", "skill_label"]

UNKNOWN_SKILL = "(unknown)"
RUN_CONTRACT = "(run)"
_BUDGET_CODE = "BUDGET_EXCEEDED"
_POLICY_CODES = frozenset({"POLICY_VIOLATION", "PERMISSION_DENIED"})


def _model(outcome: Any) -> str:
    """The model a skill reports in its output (`model`; the outcome is redacted already), or ""."""
    output = outcome.output
    model = output.get("model") if type(output) is dict else None
    return model if type(model) is str else ""


def _contract(scope: Any) -> str:
    """The contract a call is charged to first: its id, or `(run)` for one without."""
    accounts = scope.accounts
    return (accounts[0].contract.id or RUN_CONTRACT) if accounts else RUN_CONTRACT


def skill_label(name: Any, known: bool) -> str:
    """A skill's label value: its name when it is loaded, else `(unknown)` (bounded values)."""
    return name if known and type(name) is str else UNKNOWN_SKILL


class _Children:
    """The label children one (skill, code) pair updates on every call, in multiprocess mode."""

    __slots__ = ("attempts", "calls", "duration")

    def __init__(self, metrics: Metrics, skill: str, code: str, category: str) -> None:
        self.calls = metrics.family["aos_skill_calls_total"].labels(skill, code, category)
        self.duration = metrics.family["aos_skill_call_duration_seconds"].labels(skill)
        self.attempts = metrics.family["aos_skill_attempts_total"].labels(skill)

    def add(self, seconds: float, attempts: int) -> None:
        self.calls.inc()
        self.duration.observe(seconds)
        self.attempts.inc(attempts)


_TALLIED = frozenset({"aos_skill_calls_total", "aos_skill_call_duration_seconds", "aos_skill_attempts_total"})


class Metrics:
    """The catalog's metrics in one registry (see the module docstring)."""

    def __init__(self, registry: Any = None) -> None:
        import prometheus_client as prom

        self.registry = prom.REGISTRY if registry is None else registry
        self.family: dict[str, Any] = {}
        kinds = {"counter": prom.Counter, "gauge": prom.Gauge, "histogram": prom.Histogram}
        self.multiprocess = multiprocess_dir() is not None
        self.tally = None if self.multiprocess else CallTally()  # the per-call three, cheaper (tally.py)
        if self.tally is not None:
            self.registry.register(self.tally)
        for spec in METRICS:
            if spec.source == "scrape" or (spec.name in _TALLIED and self.tally is not None):
                continue  # read when scraped: see exposition.py and tally.py
            extra: dict[str, Any] = {}
            if spec.kind == "gauge":
                extra["multiprocess_mode"] = spec.mode
            elif spec.kind == "histogram":
                extra["buckets"] = spec.buckets
            self.family[spec.name] = kinds[spec.kind](
                spec.name, spec.help, spec.labels, registry=self.registry, **extra
            )
        self._series: dict[tuple[str, str], Any] = {}
        self._spend: dict[tuple[str, ...], Any] = {}
        self._lock = threading.Lock()
        self.budgets = BudgetCollector()  # every runtime's contracts, read when scraped
        if not self.multiprocess:
            self.registry.register(self.budgets)  # (multiprocess: render_metrics adds it)

    # -- a skill call --------------------------------------------------------------------------------
    def call_ended(self, skill: str, outcome: Any, probe: Any) -> None:
        """A call's outcome; `probe` (its `CallProbe`) tells its rate-limit waits, contract and model."""
        error = outcome.error
        code = "OK" if error is None else error.code.value
        series: Any = self._series.get((skill, code))
        if series is None:
            category = "OK" if error is None else error.category.value
            with self._lock:
                series = self._series.get((skill, code))
                if series is None:
                    tally = self.tally
                    made = _Children(self, skill, code, category) if tally is None else tally.row(skill, code, category)
                    series = self._series[(skill, code)] = made
        series.add(outcome.duration_ms / 1000.0, outcome.attempts)
        if error is not None:
            if code == _BUDGET_CODE:
                self.family["aos_budget_refusals_total"].labels(skill, str(error.details.get("limit", "unknown"))).inc()
            elif code in _POLICY_CODES:
                self.family["aos_policy_refusals_total"].labels(skill, code).inc()
        if probe.waits:
            self.family["aos_rate_limit_waits_total"].labels(skill).inc(probe.waits)
            self.family["aos_rate_limit_wait_seconds_total"].labels(skill).inc(probe.waited)
        cost = outcome.cost
        if cost.money or cost.input_tokens or cost.output_tokens:
            self._spent(skill, _model(outcome), _contract(probe.scope), cost)

    def retried(self, skill: str, code: str) -> None:
        self.family["aos_skill_retries_total"].labels(skill, code).inc()

    def _spent(self, skill: str, model: str, contract: str, cost: Any) -> None:
        if cost.money:
            self._child("aos_money_spent_total", skill, model, contract, cost.currency).inc(float(cost.money))
        if cost.input_tokens:
            self._child("aos_tokens_spent_total", skill, model, contract, "input").inc(cost.input_tokens)
        if cost.output_tokens:
            self._child("aos_tokens_spent_total", skill, model, contract, "output").inc(cost.output_tokens)

    def _child(self, name: str, *labels: str) -> Any:
        key = (name, *labels)
        child = self._spend.get(key)
        if child is None:
            child = self._spend[key] = self.family[name].labels(*labels)
        return child

    # -- runs ----------------------------------------------------------------------------------------
    def run_started(self, resumed: bool) -> None:
        self.family["aos_runs_started_total"].labels("resume" if resumed else "new").inc()
        self.family["aos_runs_in_progress"].inc()

    def run_ended(self, status: str, seconds: float) -> None:
        self.family["aos_runs_in_progress"].dec()
        self.family["aos_runs_ended_total"].labels(status).inc()
        self.family["aos_run_duration_seconds"].labels(status).observe(seconds)

    def steps_committed(self, ok: int, failed: int) -> None:
        if ok:
            self._child("aos_steps_committed_total", "ok").inc(ok)
        if failed:
            self._child("aos_steps_committed_total", "failed").inc(failed)

    def approval_requested(self, skill: str) -> None:
        self.family["aos_approvals_requested_total"].labels(skill).inc()

    def replayed(self, matched: bool) -> None:
        self.family["aos_replays_total"].labels("matched" if matched else "diverged").inc()

    # -- a runtime, a worker -------------------------------------------------------------------------
    def loaded(self, reports: Iterable[Any], versions: dict[str, str]) -> None:
        """What a runtime loaded: failed plugins, and the versions of core and plugin distributions."""
        failures = self.family["aos_plugin_load_failures"]
        for report in reports:
            if report.status == "failed":
                failures.labels(report.name).set(1)
        info = self.family["aos_build_info"]
        for component, version in versions.items():
            info.labels(component, version).set(1)

    def watch_budgets(self, default: Any, by_id: dict[str, Any]) -> BudgetSource:
        """Report a runtime's budgets when scraped, for as long as it keeps the returned source."""
        source = BudgetSource(default, by_id)
        self.budgets.sources.add(source)
        return source

    def heartbeat(self, alive: bool = True) -> None:
        self.family["aos_worker_up"].set(1 if alive else 0)
        if alive:
            self.family["aos_worker_last_heartbeat_timestamp_seconds"].set(time.time())


_BY_REGISTRY: weakref.WeakKeyDictionary[Any, Metrics] = weakref.WeakKeyDictionary()
_DEFAULT: list[Metrics] = []
_LOCK = threading.Lock()


def metrics_for(registry: Any = None) -> Metrics:
    """The `Metrics` of `registry` (None: the process's default registry), made on first use."""
    with _LOCK:
        if registry is None:
            if not _DEFAULT:
                _DEFAULT.append(Metrics())
            return _DEFAULT[0]
        found = _BY_REGISTRY.get(registry)
        if found is None:
            found = _BY_REGISTRY[registry] = Metrics(registry)
        return found
