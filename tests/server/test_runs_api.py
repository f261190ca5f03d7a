"""Runs over HTTP against a real `aos serve`: submit, show, events, trace, replay, cancel,
resume, idempotency, and one store shared with the `aos` command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from serverproc import ServerProcess, plan, step

pytestmark = pytest.mark.network


def submit(client: httpx.Client, body: dict[str, Any], **headers: str) -> httpx.Response:
    return client.post("/v1/runs", json=body, headers=headers)


def sse(client: httpx.Client, run_id: str, last_event_id: int | None = None) -> list[dict[str, Any]]:
    """Every event of a stream that ends by itself (the run stopped)."""
    headers = {} if last_event_id is None else {"Last-Event-ID": str(last_event_id)}
    events = []
    with client.stream("GET", f"/v1/runs/{run_id}/events", headers=headers, timeout=30) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        frame: dict[str, str] = {}
        for line in response.iter_lines():
            if line == "":
                if "data" in frame:
                    event = json.loads(frame["data"])
                    assert frame["id"] == str(event["seq"]) and frame["event"] == event["kind"]
                    events.append(event)
                frame = {}
            elif not line.startswith(":"):
                name, _, value = line.partition(": ")
                frame[name] = value
    return events


def test_a_submitted_run_is_queued_then_run_by_a_worker(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        body = {"plan": plan(step("a", "json_transform", expression="x", data={"x": 41}), step("b", depends_on=["a"]))}
        answer = submit(client, body)
        assert answer.status_code == 202, answer.text
        accepted = answer.json()
        assert accepted["status"] == "queued" and answer.headers["location"] == f"/v1/runs/{accepted['run_id']}"
        view = shared_server.wait_for(client, accepted["run_id"], "completed")
    assert [s["state"] for s in view["steps"]] == ["committed", "committed"]
    assert view["steps"][0]["outcome"]["output"] == {"result": 41}
    assert view["spent"]["calls"] == 2 and view["submitted_by"] == "admin" and view["failed_step"] is None


def test_an_invalid_plan_is_refused_with_its_error_and_nothing_is_queued(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        before = len(client.get("/v1/runs", params={"limit": 500}).json()["runs"])
        answer = submit(client, {"plan": plan(step("a", "no_such_skill"))})
        assert answer.status_code == 422
        assert answer.json()["code"] == "SKILL_NOT_FOUND" and "no_such_skill" in answer.json()["message"]
        assert len(client.get("/v1/runs", params={"limit": 500}).json()["runs"]) == before


def test_a_plan_with_a_lone_surrogate_is_refused_and_nothing_is_queued(shared_server: ServerProcess) -> None:
    """JSON that escapes a lone surrogate ("\\ud800") parses into a string UTF-8 cannot write."""
    body = json.dumps({"plan": plan(step("a", "json_transform", expression="x", data={"x": "\ud800"}))})
    assert "\\ud800" in body  # sent as the escape, as any JSON client would send it
    with shared_server.client(shared_server.admin) as client:
        before = len(client.get("/v1/runs", params={"limit": 500}).json()["runs"])
        answer = client.post("/v1/runs", content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 422, answer.text
        assert "params.data.x holds a lone surrogate" in answer.json()["message"]
        assert len(client.get("/v1/runs", params={"limit": 500}).json()["runs"]) == before


def test_a_chunked_body_over_the_limit_is_refused_413_and_nothing_is_queued(shared_server: ServerProcess) -> None:
    """Without a Content-Length the body is counted as it arrives: 11 MiB sent chunked is over the 10 MiB limit."""

    def chunks() -> Any:
        yield b'{"plan": {"goal": "big", "steps": [{"id": "a", "skill": "note", "params": {"pad": "'
        for _ in range(11):
            yield b"x" * (1024 * 1024)
        yield b'"}}]}}'

    with shared_server.client(shared_server.admin) as client:
        before = len(client.get("/v1/runs", params={"limit": 500}).json()["runs"])
        answer = client.post("/v1/runs", content=chunks(), headers={"content-type": "application/json"})
        assert answer.request.headers["transfer-encoding"] == "chunked"
        assert answer.status_code == 413, answer.text[:300]
        assert answer.json()["code"] == "INVALID_INPUT" and answer.json()["details"] == {"limit": 10 * 1024 * 1024}
        assert len(client.get("/v1/runs", params={"limit": 500}).json()["runs"]) == before


@pytest.mark.parametrize("path", ["/v1/runs", "/v1/simulate", "/v1/skills/json_transform/execute"])
@pytest.mark.parametrize("levels", [300, 600, 100_000])
def test_a_body_nested_too_deep_is_one_400_and_the_server_goes_on(
    shared_server: ServerProcess, path: str, levels: int
) -> None:
    """Hundreds of levels parse, then break where the run is written (500) or drop the connection;
    100,000 break the parser. Each is a 400 with one line, and the server answers on."""
    data = '{"a":' * levels + "1" + "}" * levels
    if path.endswith("/execute"):
        body = f'{{"params": {{"expression": "a", "data": {data}}}}}'
    else:
        body = f'{{"plan": {{"steps": [{{"id": "a", "skill": "note", "params": {{"x": {data}}}}}]}}}}'
    with shared_server.client(shared_server.admin) as client:
        answer = client.post(path, content=body, headers={"content-type": "application/json"})
        assert answer.status_code == 400, answer.text[:300]
        assert answer.json()["code"] == "INVALID_INPUT"
        assert answer.json()["message"] == "the request body is nested more than 100 levels deep; flatten it"
        assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    ("value", "said"),
    [
        ("NaN", "NaN is not a JSON value"),
        ("-Infinity", "-Infinity is not a JSON value"),
        ("1" * 5000, "an integer longer than"),
        ('"\xe9\xff"', "not UTF-8 text"),
    ],
)
def test_a_body_python_reads_but_json_has_not_is_one_400_and_nothing_is_queued(
    shared_server: ServerProcess, value: str, said: str
) -> None:
    """NaN used to be queued as null (the plan silently changed); a 5000-digit integer and bytes that are
    not UTF-8 were 'There was an error parsing the body'."""
    body = '{"plan": {"steps": [{"id": "a", "skill": "note", "params": {"n": ' + value + "}}]}}"
    with shared_server.client(shared_server.admin) as client:
        before = len(client.get("/v1/runs", params={"limit": 500}).json()["runs"])
        answer = client.post("/v1/runs", content=body.encode("latin-1"), headers={"content-type": "application/json"})
        assert answer.status_code == 400, answer.text[:300]
        assert answer.json()["code"] == "INVALID_INPUT" and said in answer.json()["message"]
        assert len(client.get("/v1/runs", params={"limit": 500}).json()["runs"]) == before


def test_events_stream_every_event_and_a_reconnect_with_last_event_id_misses_none(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        run_id = submit(client, {"plan": plan(step("a", "sleepy", seconds=0.3), step("b", depends_on=["a"]))}).json()[
            "run_id"
        ]
        events = sse(client, run_id)  # follows the run live, from queued to its end
        kinds = [e["kind"] for e in events]
        assert kinds == [
            "run_started",
            "step_started",
            "attempt",
            "step_committed",
            "step_started",
            "attempt",
            "step_committed",
            "run_ended",
        ]
        assert [e["seq"] for e in events] == list(range(1, 9)) and events[-1]["status"] == "completed"
        again = sse(client, run_id, last_event_id=3)
        assert again == events[3:]
        assert sse(client, run_id, last_event_id=8) == []


@pytest.mark.parametrize("where", ["query", "header"])
def test_an_event_number_past_any_sql_integer_is_a_422_not_a_broken_stream(
    shared_server: ServerProcess, where: str
) -> None:
    huge = str(2**64)
    with shared_server.client(shared_server.admin) as client:
        run_id = submit(client, {"plan": plan(step("a"))}).json()["run_id"]
        shared_server.wait_for(client, run_id, "completed")
        params = {"follow": "false", **({"after": huge} if where == "query" else {})}
        headers = {"Last-Event-ID": huge} if where == "header" else {}
        answer = client.get(f"/v1/runs/{run_id}/events", params=params, headers=headers)
        assert answer.status_code == 422 and answer.json()["code"] == "SCHEMA_VALIDATION_FAILED", answer.text
        last = client.get(f"/v1/runs/{run_id}/events", params={"follow": "false", "after": str(2**63 - 1)})
        assert last.status_code == 200 and "data:" not in last.text


def test_the_trace_is_the_canonical_jsonl_and_replays(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        run_id = submit(client, {"plan": plan(step("a", "json_transform", expression="y", data={"y": [1]}))}).json()[
            "run_id"
        ]
        shared_server.wait_for(client, run_id, "completed")
        answer = client.get(f"/v1/runs/{run_id}/trace")
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in answer.text.splitlines()]
        assert [line["kind"] for line in lines] == ["run", "step", "end"] and run_id not in answer.text
        exported = subprocess.run(
            [sys.executable, "-m", "aos_core", "show", run_id, "--trace", "--store", str(shared_server.store)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "AOS_HOME": str(shared_server.home)},
        ).stdout
        assert answer.text == exported
        replayed = client.post(f"/v1/runs/{run_id}/replay")
        assert replayed.status_code == 200 and replayed.json()["matched"] is True


def test_runs_from_http_and_from_aos_run_share_one_store(shared_server: ServerProcess, tmp_path: Any) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(plan(step("a", "json_transform", expression="z", data={"z": 1}), goal="from cli")))
    env = {**os.environ, "AOS_HOME": str(shared_server.home)}
    ran = subprocess.run(
        [sys.executable, "-m", "aos_core", "run", str(plan_file), "--json", "--store", str(shared_server.store)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    cli_run = json.loads(ran.stdout)["run_id"]
    with shared_server.client(shared_server.admin) as client:
        http_run = submit(client, {"plan": plan(step("a"), goal="from http")}).json()["run_id"]
        shared_server.wait_for(client, http_run, "completed")
        listed = {r["run_id"]: r for r in client.get("/v1/runs", params={"limit": 500}).json()["runs"]}
        assert (
            listed[cli_run]["goal"] == "from cli" and client.get(f"/v1/runs/{cli_run}").json()["submitted_by"] is None
        )
    shown = subprocess.run(
        [sys.executable, "-m", "aos_core", "runs", "--json", "--store", str(shared_server.store)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    assert http_run in {r["run_id"] for r in json.loads(shown.stdout)["runs"]}


def test_runs_are_listed_newest_first_by_page_and_by_status(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        ids = [submit(client, {"plan": plan(step("a"))}).json()["run_id"] for _ in range(3)]
        for run_id in ids:
            shared_server.wait_for(client, run_id, "completed")
        first = client.get("/v1/runs", params={"limit": 2}).json()
        assert [r["run_id"] for r in first["runs"]] == ids[::-1][:2] and first["next_offset"] == 2
        second = client.get("/v1/runs", params={"limit": 2, "offset": 2}).json()
        assert second["runs"][0]["run_id"] == ids[0]
        completed = client.get("/v1/runs", params={"status": "completed", "limit": 500}).json()["runs"]
        assert set(ids) <= {r["run_id"] for r in completed} and all(r["status"] == "completed" for r in completed)
        assert client.get("/v1/runs", params={"status": "nonsense"}).status_code == 422


def test_a_run_is_found_by_its_full_id_only(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        run_id = submit(client, {"plan": plan(step("a"))}).json()["run_id"]
        assert client.get(f"/v1/runs/{run_id}").status_code == 200
        missing = client.get(f"/v1/runs/{run_id[:-2]}")
        assert missing.status_code == 404 and missing.json()["code"] == "NOT_FOUND"
        assert str(shared_server.store) not in missing.text  # no server paths in answers


def test_cancel_stops_a_running_run_and_resume_finishes_it(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        run_id = submit(client, {"plan": plan(step("a", "sleepy", seconds=2), step("b", depends_on=["a"]))}).json()[
            "run_id"
        ]
        shared_server.wait_for(client, run_id, "running")
        began = time.monotonic()
        answer = client.post(f"/v1/runs/{run_id}/cancel")
        assert answer.status_code == 200 and answer.json()["status"] in ("running", "cancelled")
        view = shared_server.wait_for(client, run_id, "cancelled", timeout=10)
        assert time.monotonic() - began < 5 and view["steps"][1]["state"] == "pending"
        resumed = client.post(f"/v1/runs/{run_id}/resume", json={})
        assert resumed.status_code == 202, resumed.text
        done = shared_server.wait_for(client, run_id, "completed")
        assert [s["state"] for s in done["steps"]] == ["committed", "committed"]


def test_a_queued_run_cancelled_before_a_worker_takes_it_never_runs(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        # keep every worker slot busy so the next run waits in the queue
        blockers = [
            submit(client, {"plan": plan(step("s", "sleepy", seconds=1.5))}).json()["run_id"] for _ in range(16)
        ]
        waiting = submit(client, {"plan": plan(step("w", "note"))}).json()["run_id"]
        assert client.post(f"/v1/runs/{waiting}/cancel").json()["status"] == "cancelled"
        for run_id in blockers:
            shared_server.wait_for(client, run_id, "completed")
        assert client.get(f"/v1/runs/{waiting}").json()["status"] == "cancelled"
        assert not [c for c in shared_server.calls() if c.startswith("note w ")]


def test_a_run_that_ended_cannot_be_resumed(shared_server: ServerProcess) -> None:
    with shared_server.client(shared_server.admin) as client:
        run_id = submit(client, {"plan": plan(step("a"))}).json()["run_id"]
        shared_server.wait_for(client, run_id, "completed")
        answer = client.post(f"/v1/runs/{run_id}/resume")
        assert answer.status_code == 409 and answer.json()["code"] == "INVALID_INPUT"


def test_the_same_idempotency_key_and_body_give_the_same_run(shared_server: ServerProcess) -> None:
    body = {"plan": plan(step("a", "json_transform", expression="k", data={"k": "v"}))}
    with shared_server.client(shared_server.admin) as client:
        first = submit(client, body, **{"Idempotency-Key": "order-17"})
        again = submit(client, body, **{"Idempotency-Key": "order-17"})
        assert first.status_code == again.status_code == 202
        assert first.json()["run_id"] == again.json()["run_id"] and again.headers["idempotent-replayed"] == "true"
        other = submit(client, {"plan": plan(step("b"))}, **{"Idempotency-Key": "order-17"})
        assert other.status_code == 409 and other.json()["code"] == "INVALID_INPUT"
        assert other.json()["details"]["run_id"] == first.json()["run_id"]
        fresh = submit(client, body, **{"Idempotency-Key": "order-18"})
        assert fresh.status_code == 202 and fresh.json()["run_id"] != first.json()["run_id"]


def test_concurrent_submits_with_one_idempotency_key_make_one_run(shared_server: ServerProcess) -> None:
    import concurrent.futures

    body = {"plan": plan(step("a"))}

    def send(_: int) -> str:
        with shared_server.client(shared_server.admin) as client:
            answer = submit(client, body, **{"Idempotency-Key": "burst-1"})
            assert answer.status_code == 202, answer.text
            return str(answer.json()["run_id"])

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert len(set(pool.map(send, range(16)))) == 1


def test_a_goal_is_planned_then_queued(shared_server: ServerProcess) -> None:
    """The stub planner turns a URL into an http_call step; the server's own loopback address is
    reachable only because the admin key's profile opens it."""
    goal = {"goal": f"fetch {shared_server.url}/healthz", "planner": "stub"}
    profile = {"policy": {"network": {"allow": [f"127.0.0.1:{shared_server.port}"]}}}
    with shared_server.client(shared_server.admin) as client:
        run_id = submit(client, {**goal, "profile": profile}).json()["run_id"]
        view = shared_server.wait_for(client, run_id, "completed", "failed")
        assert view["status"] == "completed", view
        assert view["steps"][0]["skill"] == "http_call" and view["steps"][0]["outcome"]["output"]["status"] == 200
        refused = submit(client, goal)  # the server's policy refuses loopback
        failed = shared_server.wait_for(client, refused.json()["run_id"], "failed")
        assert failed["steps"][0]["outcome"]["error"]["code"] == "POLICY_VIOLATION"
        missing = submit(client, {"goal": "anything", "planner": "no-such-planner"})
        assert missing.status_code == 404 and missing.json()["code"] == "SKILL_NOT_FOUND"
        both = submit(client, {"goal": "x", "plan": plan(step("a"))})
        assert both.status_code == 422 and both.json()["code"] == "SCHEMA_VALIDATION_FAILED"


def test_only_an_admin_key_may_widen_the_network_policy(shared_server: ServerProcess) -> None:
    runner = shared_server.key("widener", "run")
    profile = {"policy": {"network": {"allow": ["127.0.0.1"]}}}
    with shared_server.client(runner) as client:
        answer = submit(client, {"plan": plan(step("a")), "profile": profile})
        assert answer.status_code == 403 and answer.json()["code"] == "PERMISSION_DENIED"
        narrowed = submit(client, {"plan": plan(step("a")), "profile": {"policy": {"deny_skills": ["wipe"]}}})
        assert narrowed.status_code == 202
