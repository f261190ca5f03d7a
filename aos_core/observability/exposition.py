"""Serving the metrics: what `aos serve`'s `/metrics` and `aos worker --metrics-port` call.

- `render_metrics(accept, store)`: the exposition as (bytes, content type). Without
  `PROMETHEUS_MULTIPROC_DIR` it is the process's registry; with it (set before any process
  starts, one empty directory shared by the server and its workers), the sum over every process
  that wrote there. `store` adds what the run store knows when scraped (runs by status, the
  oldest of each unfinished status, approvals waiting), so it is read once, by whoever renders.
- `start_metrics_server(port)`: the same exposition on its own HTTP port, in a daemon thread.
- `worker_heartbeat()`: a worker says it is alive (`aos_worker_up`, and the time of its last
  heartbeat); call it every few seconds from the worker's loop, and `worker_heartbeat(False)`
  when it stops. `mark_process_dead(pid)`: the supervisor of a worker that died removes that
  process's live gauges (multiprocess mode).

Budgets (`aos_budget_*`) are read when scraped from the ledgers of every runtime of this process
with metrics on: contracts with an id and each runtime's own contract.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from aos_core.observability.catalog import metric

__all__ = [
    "BudgetCollector",
    "BudgetSource",
    "StoreCollector",
    "mark_process_dead",
    "multiprocess_dir",
    "render_metrics",
    "start_metrics_server",
    "worker_heartbeat",
]

_LIMITS = (
    ("max_money", "money"),
    ("max_calls", "calls"),
    ("max_input_tokens", "input_tokens"),
    ("max_output_tokens", "output_tokens"),
)
_UNFINISHED = ("queued", "running", "waiting_approval", "interrupted")


def multiprocess_dir() -> str | None:
    """The directory of Prometheus multiprocess mode, when it is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def _gauge(name: str, labels: tuple[str, ...] | None = None) -> Any:
    from prometheus_client.core import GaugeMetricFamily

    spec = metric(name)
    return GaugeMetricFamily(spec.name, spec.help, labels=list(spec.labels if labels is None else labels))


class BudgetCollector:
    """`aos_budget_limit`, `_reserved` and `_remaining` of the accounts of every runtime of this
    process with metrics on, read when scraped. Each runtime adds a `BudgetSource`; the
    collector holds it weakly, so a runtime that is gone drops out."""

    def __init__(self) -> None:
        import weakref

        self.sources: weakref.WeakSet[BudgetSource] = weakref.WeakSet()

    def collect(self) -> Iterator[Any]:
        limit, reserved, remaining = (_gauge(f"aos_budget_{n}") for n in ("limit", "reserved", "remaining"))
        seen = set()
        for source in list(self.sources):
            for account in source.accounts():
                contract = account.contract.id or "default"
                if contract in seen:
                    continue  # one series per contract: the first runtime holding it reports it
                seen.add(contract)
                snap = account.ledger.snapshot(time.monotonic())
                for name, field in _LIMITS:
                    if snap["limits"].get(name) is None:
                        continue
                    labels = [contract, name]
                    limit.add_metric(labels, float(snap["limits"][name]))
                    reserved.add_metric(labels, float(snap["reserved"][field]))
                    remaining.add_metric(labels, float(snap["remaining"][field]))
        yield from (limit, reserved, remaining)

    def describe(self) -> list[Any]:
        return []  # collected only when scraped: never at registration


class BudgetSource:
    """One runtime's accounts, as the budget collector reads them: its own, then those by id."""

    def __init__(self, default: Any, by_id: dict[str, Any]) -> None:
        self.default = default
        self.by_id = by_id  # the runtime's dict, kept up to date by it

    def accounts(self) -> list[Any]:
        return [self.default, *list(self.by_id.values())]


class StoreCollector:
    """`aos_stored_runs`, `aos_stored_runs_oldest_timestamp_seconds` and `aos_approvals_waiting`
    from a run store's `census()`, when scraped."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def collect(self) -> Iterator[Any]:
        census = self.store.census()
        runs = _gauge("aos_stored_runs")
        for status, count in sorted(census["runs"].items()):
            runs.add_metric([status], count)
        oldest = _gauge("aos_stored_runs_oldest_timestamp_seconds")
        for status in _UNFINISHED:
            since = census["oldest"].get(status)
            if since is not None:
                oldest.add_metric([status], datetime.fromisoformat(since).timestamp())
        waiting = _gauge("aos_approvals_waiting")
        waiting.add_metric([], census["approvals_waiting"])
        yield from (runs, oldest, waiting)

    def describe(self) -> list[Any]:
        return []


def render_metrics(accept: str | None = None, store: Any = None, registry: Any = None) -> tuple[bytes, str]:
    """The exposition for a scrape: (body, content type). `accept`: the request's Accept header
    (OpenMetrics when it asks for it); `store`: a run store to report on; `registry`: a
    `CollectorRegistry` given to `Runtime(metrics=...)` instead of the process's default."""
    import prometheus_client as prom
    from prometheus_client import exposition

    from aos_core.observability.metrics import metrics_for

    if multiprocess_dir() is not None and registry is None:
        from prometheus_client import multiprocess

        source: Any = prom.CollectorRegistry()
        multiprocess.MultiProcessCollector(source)  # type: ignore[no-untyped-call]
        source.register(metrics_for().budgets)  # in this process's memory, not in the files
    else:
        source = prom.REGISTRY if registry is None else registry
    if store is not None:
        extra = prom.CollectorRegistry()
        extra.register(StoreCollector(store))
        source = _Both(source, extra)
    encoder, content_type = exposition.choose_encoder(accept or "")
    return encoder(source), content_type


class _Both:
    """Two registries read as one."""

    def __init__(self, *registries: Any) -> None:
        self.registries = registries

    def collect(self) -> Iterator[Any]:
        for registry in self.registries:
            yield from registry.collect()


def start_metrics_server(port: int, addr: str = "127.0.0.1", store: Any = None) -> Any:
    """Serve `render_metrics` on http://ADDR:PORT/metrics from a daemon thread; returns the
    server (`.shutdown()` stops it; `.server_port` is the port, useful with port 0)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?")[0] not in ("/metrics", "/"):
                self.send_error(404, "only /metrics is served here")
                return
            body, content_type = render_metrics(self.headers.get("Accept"), store)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Scrapes are not logged."""

    server = ThreadingHTTPServer((addr, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="aos-metrics", daemon=True).start()
    return server


def worker_heartbeat(alive: bool = True, registry: Any = None) -> None:
    """A worker is alive and taking work (False: it is stopping); see the module docstring."""
    from aos_core.observability.metrics import metrics_for

    metrics_for(registry).heartbeat(alive)


def mark_process_dead(pid: int) -> None:
    """Forget the live gauges of process `pid`, which died (multiprocess mode; else nothing)."""
    if multiprocess_dir() is not None:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]
