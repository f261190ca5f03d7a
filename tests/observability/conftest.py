"""Fixtures for observability: a fresh Prometheus registry, an in-memory span exporter, and a
runtime over the three first-party skills against local services (the demo's inventory and a
fake Messages API on 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from aos_core import AgentProfile, NetworkPolicy, Policy, ResourceContract, Runtime
from aos_core.cli.demo import _inventory_service
from aos_core.testing.messages_api import MessagesAPIServer

KEY = "sk-ant-test-observability-0123456789"

pytest.importorskip("prometheus_client", reason="the metrics extra (aos-core[metrics]) is not installed")
pytest.importorskip("opentelemetry.sdk", reason="the otel extra (aos-core[otel]) is not installed")


@pytest.fixture
def registry() -> Any:
    from prometheus_client import CollectorRegistry

    return CollectorRegistry()


@pytest.fixture
def spans() -> Iterator[tuple[Any, Any]]:
    """(tracer provider, in-memory exporter): spans end up in `exporter.get_finished_spans()`."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider, exporter
    provider.shutdown()


@pytest.fixture
def services() -> Iterator[tuple[str, MessagesAPIServer]]:
    with _inventory_service() as inventory, MessagesAPIServer(api_key=KEY) as llm:
        yield inventory, llm


@pytest.fixture
def three_skills(services: tuple[str, MessagesAPIServer], tmp_path: Path) -> Iterator[Callable[..., Runtime]]:
    """Make runtimes that can run the demo plan (network allowed to the inventory only)."""
    inventory, llm = services
    made: list[Runtime] = []

    def make(**kwargs: Any) -> Runtime:
        port = inventory.rsplit(":", 1)[1]
        allow = (f"127.0.0.1:{port}", *kwargs.pop("allow", ()))
        profile = AgentProfile(
            policy=Policy(network=NetworkPolicy(allow=allow)),
            contract=kwargs.pop("contract", ResourceContract(id="demo", max_money="0.05", max_calls=10)),
        )
        config = {"skills": {"llm_invoke": {"base_url": llm.url, "api_key": KEY}}}
        kwargs.setdefault("store", tmp_path / "runs.sqlite3")
        runtime = Runtime(profile=profile, config=config, seed=99, **kwargs)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


@pytest.fixture
def echo_server() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A local HTTP server answering every GET with a small JSON body; yields (its URL, the
    headers of each request it received)."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append({k.lower(): v for k, v in self.headers.items()})
            body = json.dumps({"items": [{"name": "bolt", "stock": 3}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
