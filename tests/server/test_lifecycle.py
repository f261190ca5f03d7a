"""A server's life with runs in it: approvals that survive a restart, SIGTERM with runs in flight
(drained, interrupted, resumed at the next start), and a worker that dies under a run."""

from __future__ import annotations

import signal
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from serverproc import ServerProcess, plan, step

pytestmark = pytest.mark.network

APPROVAL_PLAN = plan(step("first"), step("wipe", "wipe", depends_on=["first"]), step("after", depends_on=["wipe"]))


def events_of(client: httpx.Client, run_id: str) -> list[str]:
    text = client.get(f"/v1/runs/{run_id}/events", params={"follow": False}).text
    return [line.removeprefix("event: ") for line in text.splitlines() if line.startswith("event: ")]


def test_an_approval_waits_across_a_restart_and_the_run_goes_on_once_approved(new_server: Any) -> None:
    server: ServerProcess = new_server("--workers", "1").start()
    with server.client(server.admin) as client:
        run_id = client.post("/v1/runs", json={"plan": APPROVAL_PLAN}).json()["run_id"]
        waiting = server.wait_for(client, run_id, "waiting_approval")
        assert [s["state"] for s in waiting["steps"]] == ["committed", "waiting_approval", "pending"]
        assert waiting["approvals"] == [
            {
                "step_id": "wipe",
                "skill": "wipe",
                "side_effects": "destructive",
                "params": {},
                "decision": None,
                "decided_by": None,
                "decided_at": None,
            }
        ]
    assert "approval_needed" in events_of(server.client(server.admin), run_id)
    assert server.stop() == 0
    server.start()  # a new process: nothing about the approval lived in memory
    with server.client(server.admin) as client:
        assert client.get(f"/v1/runs/{run_id}").json()["status"] == "waiting_approval"
        decided = client.post(f"/v1/runs/{run_id}/approvals/wipe", json={"approve": True})
        assert decided.status_code == 202 and decided.json()["decision"] == "approve"
        assert decided.json()["decided_by"] == "admin"
        done = server.wait_for(client, run_id, "completed")
        again = client.post(f"/v1/runs/{run_id}/approvals/wipe", json={"approve": False})
        assert again.status_code == 409  # decided once
        assert [s["state"] for s in done["steps"]] == ["committed"] * 3
        calls = Counter(line.rsplit(" ", 1)[0] for line in server.calls())
        assert calls == {"note first": 1, "wipe wipe": 1, "note after": 1}
        assert client.post(f"/v1/runs/{run_id}/replay").json()["matched"] is True


def test_a_denied_step_fails_and_what_depends_on_it_is_skipped(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        run_id = client.post("/v1/runs", json={"plan": APPROVAL_PLAN}).json()["run_id"]
        shared_server.wait_for(client, run_id, "waiting_approval")
        assert client.post(f"/v1/runs/{run_id}/approvals/first", json={"approve": True}).status_code == 409
        assert client.post(f"/v1/runs/{run_id}/approvals/nope", json={"approve": True}).status_code == 404
        assert client.post(f"/v1/runs/{run_id}/approvals/wipe", json={"approve": False}).status_code == 202
        done = shared_server.wait_for(client, run_id, "failed")
    assert done["failed_step"] == "wipe" and done["steps"][1]["outcome"]["error"]["code"] == "PERMISSION_DENIED"
    assert done["steps"][2]["state"] == "pending"


def test_an_approval_given_in_advance_lets_the_run_through(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        run_id = client.post("/v1/runs", json={"plan": APPROVAL_PLAN, "approve": ["wipe"]}).json()["run_id"]
        assert shared_server.wait_for(client, run_id, "completed")["approvals"] == []


def test_sigterm_drains_runs_in_flight_and_the_next_start_resumes_them(new_server: Any) -> None:
    """Steps in flight finish and commit, no new step starts, every run is left interrupted,
    submits meanwhile get 503, the server exits 0; restarted, it finishes every run, and no
    step ran twice."""
    server: ServerProcess = new_server("--workers", "2", "--drain-timeout", "20").start()
    runs = 6
    three_steps = plan(
        step("a", "sleepy", seconds=1), step("b", "sleepy", seconds=1, depends_on=["a"]), step("c", depends_on=["b"])
    )
    with server.client(server.admin) as client:
        ids = [client.post("/v1/runs", json={"plan": three_steps}).json()["run_id"] for _ in range(runs)]
        for run_id in ids:
            server.wait_for(client, run_id, "running")
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        refused = client.post("/v1/runs", json={"plan": three_steps})
        assert (
            refused.status_code == 503 and refused.json()["code"] == "UNAVAILABLE" and "retry-after" in refused.headers
        )
        assert client.get("/readyz").status_code == 503
        assert client.get(f"/v1/runs/{ids[0]}").status_code == 200  # reads still answered while draining
    began = time.monotonic()
    assert server.stop(None, timeout=60) == 0
    assert time.monotonic() - began < 15
    stopped = Counter(line.rsplit(" ", 1)[0] for line in server.calls())
    assert stopped == {"sleepy a": runs}, stopped  # every step in flight finished; none started after
    server.start()
    with server.client(server.admin) as client:
        for run_id in ids:
            view = server.wait_for(client, run_id, "completed")
            assert [s["state"] for s in view["steps"]] == ["committed"] * 3
            assert events_of(client, run_id).count("run_started") == 2  # once before the stop, once after
    calls = Counter(line.rsplit(" ", 1)[0] for line in server.calls())
    assert calls == {"sleepy a": runs, "sleepy b": runs, "note c": runs}, calls
    assert "queued again at start" in server.log()


@pytest.mark.slow
def test_a_step_still_in_flight_at_the_drain_deadline_is_interrupted_and_repeated_after_restart(
    new_server: Any,
) -> None:
    server: ServerProcess = new_server("--workers", "1", "--drain-timeout", "0.5").start()
    with server.client(server.admin) as client:
        run_id = client.post("/v1/runs", json={"plan": plan(step("long", "sleepy", seconds=6))}).json()["run_id"]
        server.wait_for(client, run_id, "running")
        time.sleep(0.3)  # the step has started
    began = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - began < 5  # the deadline (0.5 s), not the 6 s step
    assert server.calls() == []  # cut short: it never finished
    server.start()
    with server.client(server.admin) as client:
        view = server.wait_for(client, run_id, "completed", timeout=30)
        assert view["steps"][0]["outcome"]["ok"] is True
        assert events_of(client, run_id).count("run_started") == 2
    assert [line.rsplit(" ", 1)[0] for line in server.calls()] == ["sleepy long"]  # repeated once (it changes nothing)


def test_a_worker_that_dies_under_a_run_is_replaced_and_its_run_is_interrupted_and_resumable(
    new_server: Any,
) -> None:
    server: ServerProcess = new_server("--workers", "1").start()
    with server.client(server.admin) as client:
        doomed = client.post(
            "/v1/runs", json={"plan": plan(step("before"), step("boom", "crash_once", depends_on=["before"]))}
        )
        run_id = doomed.json()["run_id"]
        view = server.wait_for(client, run_id, "interrupted", timeout=8)  # marked at once, not at lease expiry (15 s)
        assert view["steps"][0]["state"] == "committed" and view["steps"][1]["state"] == "in_flight"
        assert view["in_flight"] == ["boom"]
        last = client.get(f"/v1/runs/{run_id}/events", params={"follow": False}).text.strip().splitlines()[-1]
        assert '"reason":"worker_exited"' in last and '"status":"interrupted"' in last
        server.wait_ready(30)  # a new worker took the dead one's place
        other = client.post("/v1/runs", json={"plan": plan(step("fine"))}).json()["run_id"]
        server.wait_for(client, other, "completed")
        assert client.post(f"/v1/runs/{run_id}/resume").status_code == 202
        done = server.wait_for(client, run_id, "completed")
    assert done["steps"][0]["outcome"]["attempts"] == 1
    assert "worker" in server.log() and "exited with status 3" in server.log()
    calls = Counter(line.rsplit(" ", 1)[0] for line in server.calls())
    assert calls["note before"] == 1 and calls["crash_once boom"] == 1


def test_an_open_event_stream_does_not_hold_the_shutdown(new_server: Any) -> None:
    """A client following a run that waits for an approval keeps its stream open; SIGTERM still
    stops the server within seconds, and the stream ends cleanly (the client reconnects later)."""
    import threading

    server: ServerProcess = new_server("--workers", "1", "--shutdown-timeout", "2").start()
    with server.client(server.admin) as client:
        run_id = client.post("/v1/runs", json={"plan": APPROVAL_PLAN}).json()["run_id"]
        server.wait_for(client, run_id, "waiting_approval")
    seen: list[str] = []

    def follow() -> None:
        with server.client(server.admin) as client, client.stream("GET", f"/v1/runs/{run_id}/events") as stream:
            seen.extend(line for line in stream.iter_lines() if line.startswith("event: "))

    reader = threading.Thread(target=follow)
    reader.start()
    deadline = time.monotonic() + 10
    while "event: approval_needed" not in seen and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "event: approval_needed" in seen and reader.is_alive()  # following a paused run
    began = time.monotonic()
    assert server.stop() == 0
    assert time.monotonic() - began < 8
    reader.join(10)
    assert not reader.is_alive()
