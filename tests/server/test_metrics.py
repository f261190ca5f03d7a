"""`aos serve` exports Prometheus metrics on /metrics, summed over its worker processes, and a run
submitted with a W3C `traceparent` continues the caller's trace out through `http_call`."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from serverproc import ServerProcess, plan, step

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def test_metrics_sum_every_worker_and_read_the_store(new_server: Any) -> None:
    server: ServerProcess = new_server("--workers", "2").start()
    with server.client(server.admin) as client:
        ids = []
        for n in range(6):
            steps = [step(f"s{i}") for i in range(3)]
            body = {"plan": plan(*steps, goal=f"metrics {n}"), "contract": {"id": "team", "max_calls": 50}}
            answer = client.post("/v1/runs", json=body)
            assert answer.status_code == 202, answer.text
            ids.append(answer.json()["run_id"])
        for run_id in ids:
            server.wait_for(client, run_id, "completed")
        with server.client() as anonymous:  # scraped without a key, like the health checks
            scrape = anonymous.get("/metrics")
    assert scrape.status_code == 200, scrape.text
    assert scrape.headers["content-type"].startswith("text/plain")
    samples = _samples(scrape.text)
    pids = {line.split()[2] for line in server.calls()}
    assert len(server.calls()) == 18
    # The calls were made in the workers, not in the process that answered the scrape: the sum
    # over both workers' files is every call.
    assert _value(samples, "aos_skill_calls_total", skill="note", code="OK") == 18, pids
    assert _value(samples, "aos_steps_committed_total") == 18
    assert _value(samples, "aos_stored_runs", status="completed") == 6  # read from the store when scraped
    assert _value(samples, "aos_worker_up") == 2
    assert _value(samples, "aos_worker_last_heartbeat_timestamp_seconds") > 0
    # The shared contract's budget, spent by the workers, read from the store when scraped.
    assert _value(samples, "aos_budget_limit", contract="team", limit="max_calls") == 50
    assert _value(samples, "aos_budget_remaining", contract="team", limit="max_calls") == 50 - 18
    assert not any(run_id in scrape.text for run_id in ids)  # run ids are never labels


@contextlib.contextmanager
def _peer() -> Iterator[tuple[int, list[str | None]]]:
    """A local HTTP server answering `{}` to every GET: (its port, the traceparent of each request)."""
    received: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            received.append(self.headers.get("traceparent"))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:
            pass

    peer = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=peer.serve_forever, daemon=True).start()
    try:
        yield peer.server_address[1], received
    finally:
        peer.shutdown()
        peer.server_close()


def test_a_callers_traceparent_goes_through_the_server_into_the_run_and_out_through_http_call(
    shared_server: ServerProcess,
) -> None:
    with _peer() as (port, received):
        fetch = {"method": "GET", "url": f"http://127.0.0.1:{port}/"}
        body = {
            "plan": plan(step("fetch", "http_call", **fetch), goal="traced"),
            "profile": {"policy": {"network": {"allow": [f"127.0.0.1:{port}"]}}},
        }
        with shared_server.client(shared_server.admin) as client:
            answer = client.post("/v1/runs", json=body, headers={"traceparent": TRACEPARENT})
            assert answer.status_code == 202, answer.text
            view = shared_server.wait_for(client, answer.json()["run_id"], "completed", "failed")
            assert view["status"] == "completed", view
    assert len(received) == 1 and received[0] is not None
    assert received[0].split("-")[1] == TRACEPARENT.split("-")[1]  # the caller's trace continues


def test_a_callers_traceparent_goes_through_a_direct_call_and_out_through_http_call(
    new_server: Any, tmp_path: Path
) -> None:
    """`POST /v1/skills/http_call/execute` with a `traceparent`: the request the skill sends is in
    the caller's trace (one call, no run)."""
    with _peer() as (port, received):
        profile = tmp_path / "profile.json"
        profile.write_text(json.dumps({"policy": {"network": {"allow": [f"127.0.0.1:{port}"]}}}), "utf-8")
        server: ServerProcess = new_server("--workers", "0", "--profile", str(profile)).start()
        with server.client(server.admin) as client:
            called = client.post(
                "/v1/skills/http_call/execute",
                json={"params": {"method": "GET", "url": f"http://127.0.0.1:{port}/"}},
                headers={"traceparent": TRACEPARENT},
            )
        assert called.status_code == 200 and called.json()["ok"], called.text
    assert len(received) == 1 and received[0] is not None
    assert received[0].split("-")[1] == TRACEPARENT.split("-")[1]  # the caller's trace continues


def test_metrics_answer_404_when_switched_off(new_server: Any) -> None:
    server: ServerProcess = new_server("--workers", "0", "--no-metrics").start()
    with server.client() as client:
        answer = client.get("/metrics")
    assert answer.status_code == 404
    assert answer.json()["code"] == "NOT_FOUND"
