"""`aos serve --store postgresql://... --workers 0` accepts and answers; `aos worker`s execute.
Keys, submitted runs and idempotency keys live in PostgreSQL (the server's tables beside the
core's), and the queue is DBOS's."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from typing import Any

import httpx
from cluster import HERE, SERVER_TESTS, Cluster, plan, step

pytestmark = []


def _serve(one: Cluster, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    env = {
        **os.environ,
        "AOS_HOME": str(one.home),
        "AOS_TEST_DIR": str(one.calls_dir),
        "PYTHONPATH": os.pathsep.join([str(HERE), str(SERVER_TESTS), os.environ.get("PYTHONPATH", "")]),
    }
    log_path = one.home / "serve.log"
    command = [sys.executable, "-m", "aos_core", "serve", "--port", "0", "--workers", "0", "--store", one.url]
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*command, "--plugin", "scale_skills:plugin", *extra], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log_path.read_text("utf-8", "replace"))
        if found:
            return process, found.group(1)
        assert process.poll() is None, log_path.read_text("utf-8", "replace")
        time.sleep(0.05)
    raise AssertionError(log_path.read_text("utf-8", "replace"))


def _key(one: Cluster, name: str) -> str:
    env = {**os.environ, "AOS_HOME": str(one.home)}
    result = subprocess.run(
        [sys.executable, "-m", "aos_core", "keys", "create", name, "--scope", "admin", "--json", "--store", one.url],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    return str(json.loads(result.stdout)["secret"])


def test_serve_on_postgresql_accepts_and_workers_execute(cluster: Any) -> None:
    one: Cluster = cluster("--lease", "5")
    key = _key(one, "me")
    server, url = _serve(one)
    try:
        body = {"plan": plan(step("a", "count"), step("b", "count", after=("a",)))}
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
            while client.get("/readyz").status_code != 200:
                time.sleep(0.05)
            first = client.post("/v1/runs", json=body, headers={"Idempotency-Key": "once"})
            again = client.post("/v1/runs", json=body, headers={"Idempotency-Key": "once"})
            other = client.post(
                "/v1/runs", json={"plan": plan(step("c", "count"))}, headers={"Idempotency-Key": "once"}
            )
            assert (first.status_code, again.status_code, other.status_code) == (202, 202, 409)
            run_id = first.json()["run_id"]
            assert again.json()["run_id"] == run_id and again.headers["Idempotent-Replayed"] == "true"
            assert client.get("/readyz").json()["queued"] == 1  # no worker yet: it waits in DBOS's queue
            one.start(1)
            deadline = time.monotonic() + 60
            while (view := client.get(f"/v1/runs/{run_id}").json())["status"] != "completed":
                assert time.monotonic() < deadline, view
                time.sleep(0.1)
            assert view["submitted_by"] == "me" and [s["state"] for s in view["steps"]] == ["committed"] * 2
            assert [c[0] for c in one.calls()] == ["count", "count"]  # the run ran once
            assert client.post(f"/v1/runs/{run_id}/replay").json()["matched"] is True
            assert client.get("/readyz").json()["queued"] == 0

            # an approval decided after the run's first workflow ended queues it again (a fresh workflow id)
            gated = plan(step("a", "count"), step("b", "wipe", after=("a",)), step("c", "count", after=("b",)))
            gated_id = client.post("/v1/runs", json={"plan": gated}).json()["run_id"]
            while client.get(f"/v1/runs/{gated_id}").json()["status"] != "waiting_approval":
                assert time.monotonic() < deadline + 60
                time.sleep(0.1)
            assert client.post(f"/v1/runs/{gated_id}/approvals/b", json={"approve": True}).status_code == 202
            while (view := client.get(f"/v1/runs/{gated_id}").json())["status"] != "completed":
                assert time.monotonic() < deadline + 120, view
                time.sleep(0.1)
            workflows = one.client.list_workflows(workflow_id_prefix=gated_id, load_input=False, load_output=False)
            assert sorted(w.workflow_id == gated_id for w in workflows) == [False, True]
            assert client.get("/v1/keys").json()["keys"][0]["name"] == "me"
        assert key not in (one.home / "serve.log").read_text("utf-8") + one.logs()
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0


def test_serve_queues_runs_on_the_queue_it_is_given_for_the_workers_of_that_queue(cluster: Any) -> None:
    """`aos serve --queue Q` puts submitted runs on DBOS queue Q: a worker of the default queue
    takes none of them, a worker started with `--queue Q` executes them."""
    one: Cluster = cluster("--lease", "5")
    key = _key(one, "me")
    server, url = _serve(one, "--queue", "batch")
    try:
        one.start(1)  # the default queue, aos_runs
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as client:
            while client.get("/readyz").status_code != 200:
                time.sleep(0.05)
            run_id = client.post("/v1/runs", json={"plan": plan(step("a", "count"))}).json()["run_id"]
            time.sleep(2.0)  # the default queue's worker polls every 0.1 s: it would have taken it by now
            assert client.get(f"/v1/runs/{run_id}").json()["status"] == "queued"
            assert one.calls() == []
            one.start(1, "--queue", "batch")
            deadline = time.monotonic() + 60
            while (view := client.get(f"/v1/runs/{run_id}").json())["status"] != "completed":
                assert time.monotonic() < deadline, view
                time.sleep(0.1)
            assert [c[0] for c in one.calls()] == ["count"]
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(60) == 0
