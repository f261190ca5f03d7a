"""API keys against a real server: the auth matrix, both ways to send a key, scopes, owners,
the per-key rate limit, and a canary key that must never leave the request it came in."""

from __future__ import annotations

import os
import time
from typing import Any

import httpx
import pytest
from serverproc import ServerProcess, plan, step

pytestmark = pytest.mark.network

PLAN = {"plan": plan(step("a"))}


def call(server: ServerProcess, method: str, path: str, headers: dict[str, str], **kwargs: object) -> httpx.Response:
    return httpx.request(method, f"{server.url}{path}", headers=headers, timeout=30, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def keys(shared_server: ServerProcess) -> dict[str, str]:
    revoked = shared_server.key("gone", "admin")
    shared_server.keys.revoke("gone")
    return {
        "read": shared_server.key("reader", "read"),
        "run": shared_server.key("runner", "run"),
        "other": shared_server.key("other-runner", "run"),
        "revoked": revoked,
        # a well-formed key that was never issued, and one that differs from a real one in its secret only
        "wrong": "aos_0123456789ab_" + "A" * 43,
        "near": shared_server.admin[:-1] + ("A" if shared_server.admin[-1] != "A" else "B"),
    }


@pytest.mark.parametrize("who", ["none", "wrong", "near", "revoked", "garbage"])
@pytest.mark.parametrize(("method", "path"), [("GET", "/v1/runs"), ("POST", "/v1/runs"), ("GET", "/v1/nowhere")])
def test_no_key_a_wrong_key_and_a_revoked_key_get_the_same_401(
    shared_server: ServerProcess, keys: dict[str, str], who: str, method: str, path: str
) -> None:
    headers = {} if who == "none" else {"X-API-Key": "not a key at all" if who == "garbage" else keys[who]}
    answer = call(shared_server, method, path, headers, content=b"{not json")
    assert answer.status_code == 401 and answer.headers["www-authenticate"] == "Bearer"
    body = answer.json()
    assert body["code"] == "PERMISSION_DENIED" and body["details"] == {}
    assert body["message"] == call(shared_server, "GET", "/v1/runs", {}).json()["message"]  # one message for all


@pytest.mark.parametrize("style", ["bearer", "x-api-key"])
def test_a_right_key_works_sent_either_way(shared_server: ServerProcess, keys: dict[str, str], style: str) -> None:
    key = keys["run"]
    headers = {"Authorization": f"Bearer {key}"} if style == "bearer" else {"X-API-Key": key}
    assert call(shared_server, "GET", "/v1/skills", headers).status_code == 200
    assert call(shared_server, "POST", "/v1/runs", headers, json=PLAN).status_code == 202


def test_a_read_key_reads_and_may_not_run(shared_server: ServerProcess, keys: dict[str, str]) -> None:
    headers = {"X-API-Key": keys["read"]}
    for path in ("/v1/runs", "/v1/skills", "/v1/skills/note", "/v1/plugins", "/v1/failures"):
        assert call(shared_server, "GET", path, headers).status_code == 200, path
    assert call(shared_server, "POST", "/v1/simulate", headers, json=PLAN).status_code == 200
    for path, body in [
        ("/v1/runs", PLAN),
        ("/v1/skills/note/execute", {"params": {}}),
        ("/v1/plan", {"goal": "x"}),
    ]:
        answer = call(shared_server, "POST", path, headers, json=body)
        assert answer.status_code == 403 and answer.json()["code"] == "PERMISSION_DENIED", path
        assert "scope is read" in answer.json()["message"]
    assert call(shared_server, "GET", "/v1/keys", headers).status_code == 403


def test_a_run_key_acts_on_its_own_runs_and_an_admin_key_on_every_run(
    shared_server: ServerProcess, keys: dict[str, str]
) -> None:
    mine = {"X-API-Key": keys["run"]}
    theirs = {"X-API-Key": keys["other"]}
    admin = {"X-API-Key": shared_server.admin}
    run_id = call(shared_server, "POST", "/v1/runs", mine, json={"plan": plan(step("s", "sleepy", seconds=3))}).json()[
        "run_id"
    ]
    assert call(shared_server, "GET", f"/v1/runs/{run_id}", theirs).status_code == 200  # reading is for every key
    for action in ("cancel", "resume"):
        refused = call(shared_server, "POST", f"/v1/runs/{run_id}/{action}", theirs)
        assert refused.status_code == 403 and "not submitted with this key" in refused.json()["message"]
    refused = call(shared_server, "POST", f"/v1/runs/{run_id}/approvals/s", theirs, json={"approve": True})
    assert refused.status_code == 403
    assert call(shared_server, "POST", f"/v1/runs/{run_id}/cancel", admin).status_code == 200
    with shared_server.client(shared_server.admin) as client:
        shared_server.wait_for(client, run_id, "cancelled")
    assert call(shared_server, "POST", f"/v1/runs/{run_id}/resume", mine).status_code == 202


def test_a_run_key_may_not_spend_another_keys_budget_by_naming_its_contract(shared_server: ServerProcess) -> None:
    """Any key reads `GET /v1/budgets/key:NAME`; naming that contract, limits and all, in a submit
    would spend the other key's budget (and a name taken first would lock its owner out): 403."""
    from aos_core import ResourceContract

    victim = shared_server.key("victim", "run", ResourceContract(max_calls=2))
    thief = shared_server.key("thief", "run")
    stolen = {"id": "key:victim", "max_calls": 2}
    for body in ({"contract": stolen}, {"profile": {"contract": stolen}}):
        answer = call(shared_server, "POST", "/v1/runs", {"X-API-Key": thief}, json={**PLAN, **body})
        assert answer.status_code == 403, answer.text
        assert answer.json()["code"] == "PERMISSION_DENIED" and "key:victim" in answer.json()["message"]
    own = call(shared_server, "POST", "/v1/runs", {"X-API-Key": victim}, json={**PLAN, "contract": stolen})
    assert own.status_code == 202, own.text  # its own budget, named: no harm
    shared_server.wait_for(shared_server.client(shared_server.admin), own.json()["run_id"], "completed")
    spent = call(shared_server, "GET", "/v1/budgets/key:victim", {"X-API-Key": victim}).json()["spent"]["calls"]
    assert spent == 1


def test_a_run_key_names_only_the_secrets_the_server_offers_to_keys(new_server: Any) -> None:
    """The server resolves `${secrets.NAME}` from its own environment: a run key that could name any
    would read it back in a form redaction does not know (reversed). Only `--key-secret` names are
    open to keys without admin scope; an admin key names any."""
    server: ServerProcess = new_server("--workers", "1", "--key-secret", "OPEN_TOKEN")
    runner = server.key("runner", "run")
    os.environ["OPEN_TOKEN"] = "open-token-value"  # the server's environment is inherited from this one
    os.environ["SERVER_ONLY_TOKEN"] = "server-only-value-1234"
    try:
        server.start()
    finally:
        del os.environ["OPEN_TOKEN"], os.environ["SERVER_ONLY_TOKEN"]
    leak = {"expression": "reverse(a)", "data": {"a": "${secrets.SERVER_ONLY_TOKEN}"}}
    with server.client(runner) as client:
        direct = client.post("/v1/skills/json_transform/execute", json={"params": leak})
        planned = client.post("/v1/runs", json={"plan": plan(step("a", "json_transform", **leak))})
        for answer in (direct, planned):
            assert answer.status_code == 403, answer.text
            assert answer.json()["code"] == "PERMISSION_DENIED" and "SERVER_ONLY_TOKEN" in answer.json()["message"]
            assert "4321-eulav" not in answer.text
        offered = {"expression": "length(a)", "data": {"a": "${secrets.OPEN_TOKEN}"}}
        answer = client.post("/v1/skills/json_transform/execute", json={"params": offered})
        assert answer.status_code == 200 and answer.json()["output"] == {"result": len("open-token-value")}
    with server.client(server.admin) as client:
        answer = client.post("/v1/skills/json_transform/execute", json={"params": {**leak, "expression": "a"}})
        assert answer.json()["output"] == {"result": "[REDACTED:SERVER_ONLY_TOKEN]"}


def test_a_refusals_recovery_is_about_the_request_and_names_only_details_it_has(
    shared_server: ServerProcess, keys: dict[str, str]
) -> None:
    """Not the catalog's advice on skill calls ("grant approval", "details.parameter" with no such detail)."""
    mine, theirs = {"X-API-Key": keys["run"]}, {"X-API-Key": keys["other"]}
    run_id = call(shared_server, "POST", "/v1/runs", mine, json=PLAN).json()["run_id"]
    first = call(shared_server, "POST", "/v1/runs", {**mine, "Idempotency-Key": "recovery"}, json=PLAN)
    assert first.status_code == 202
    body = {"plan": plan(step("b"))}
    answers = [
        call(shared_server, "POST", f"/v1/runs/{run_id}/cancel", theirs),
        call(shared_server, "POST", "/v1/runs", {**mine, "Idempotency-Key": "recovery"}, json=body),
        call(shared_server, "GET", "/v1/nowhere", mine),
    ]
    assert [a.status_code for a in answers] == [403, 409, 404]
    for answer in answers:
        error = answer.json()
        assert "approv" not in error["recovery"] and "skill" not in error["recovery"], error
        if "details.parameter" in error["recovery"]:
            assert "parameter" in error["details"], error


def test_keys_are_managed_over_http_by_an_admin_key(shared_server: ServerProcess) -> None:
    admin = {"X-API-Key": shared_server.admin}
    made = call(shared_server, "POST", "/v1/keys", admin, json={"name": "made-over-http", "scope": "read"})
    assert made.status_code == 201
    secret = made.json()["secret"]
    assert call(shared_server, "GET", "/v1/runs", {"X-API-Key": secret}).status_code == 200
    listed = call(shared_server, "GET", "/v1/keys", admin).json()["keys"]
    assert "made-over-http" in {k["name"] for k in listed} and secret not in str(listed)
    assert call(shared_server, "POST", "/v1/keys", admin, json={"name": "made-over-http"}).status_code == 409
    assert call(shared_server, "POST", "/v1/keys/made-over-http/revoke", admin).status_code == 200
    assert call(shared_server, "GET", "/v1/runs", {"X-API-Key": secret}).status_code == 401  # at once
    assert call(shared_server, "POST", "/v1/keys/no-such/revoke", admin).status_code == 404


def test_a_key_over_its_request_rate_gets_429_with_retry_after(shared_server: ServerProcess) -> None:
    key = shared_server.key("slow-client", "read", rate=2)
    answers = [call(shared_server, "GET", "/v1/failures", {"X-API-Key": key}) for _ in range(5)]
    statuses = [a.status_code for a in answers]
    assert statuses[:2] == [200, 200] and 429 in statuses, statuses
    limited = next(a for a in answers if a.status_code == 429)
    assert limited.json()["code"] == "RATE_LIMITED" and int(limited.headers["retry-after"]) >= 1
    assert limited.json()["retry_after_ms"] > 0
    time.sleep(limited.json()["retry_after_ms"] / 1000)
    assert call(shared_server, "GET", "/v1/failures", {"X-API-Key": key}).status_code == 200
    other = call(shared_server, "GET", "/v1/failures", {"X-API-Key": shared_server.admin})
    assert other.status_code == 200  # one key's rate is its own


def test_health_checks_need_no_key(shared_server: ServerProcess) -> None:
    assert call(shared_server, "GET", "/healthz", {}).json() == {"ok": True}
    assert call(shared_server, "GET", "/readyz", {}).json()["ready"] is True


def test_a_key_never_appears_in_logs_traces_events_errors_or_the_store(shared_server: ServerProcess) -> None:
    canary = shared_server.key("canary", "admin")
    headers = {"Authorization": f"Bearer {canary}"}
    run_id = call(
        shared_server,
        "POST",
        "/v1/runs",
        headers,
        json={"plan": plan(step("a", "json_transform", expression="x", data={"x": 1}))},
    ).json()["run_id"]
    with shared_server.client(canary) as client:
        shared_server.wait_for(client, run_id, "completed", "failed")
        seen = [
            client.get(f"/v1/runs/{run_id}").text,
            client.get(f"/v1/runs/{run_id}/trace").text,
            client.get(f"/v1/runs/{run_id}/events").text,
            client.post("/v1/runs", content=b"{broken").text,
            client.post("/v1/skills/no_such/execute", json={}).text,
            client.get("/v1/runs/nope").text,
            client.get("/v1/keys").text,
        ]
    seen.append(call(shared_server, "GET", "/v1/runs", {"X-API-Key": canary + "x"}).text)  # a wrong key near it
    seen.append(call(shared_server, "GET", "/v1/runs", {"Authorization": f"Basic {canary}"}).text)
    secret_part = canary.split("_", 2)[2]
    for text in seen:
        assert secret_part not in text
    assert secret_part not in shared_server.log()
    for path in shared_server.store.parent.glob("runs.sqlite3*"):
        assert secret_part.encode() not in path.read_bytes(), path


def test_a_revoked_keys_open_event_stream_ends(shared_server: ServerProcess) -> None:
    """A key revoked while it follows a run's events stopped reading nothing: its stream went on
    for as long as the run waited. It ends within a few seconds; a reconnect gets 401."""
    from aos_server.events import RECHECK_S

    key = shared_server.key("streamer", "run")
    with shared_server.client(key) as client:
        run_id = client.post("/v1/runs", json={"plan": plan(step("a", "wipe"))}).json()["run_id"]
        shared_server.wait_for(client, run_id, "waiting_approval")  # followed, and quiet, until decided
        timeout = httpx.Timeout(30, read=RECHECK_S + 6)  # under the 15 s keep-alive: a silent stream times out
        with client.stream("GET", f"/v1/runs/{run_id}/events", timeout=timeout) as response:
            assert response.status_code == 200
            lines = response.iter_lines()
            assert next(lines) == "retry: 1000"
            shared_server.keys.revoke("streamer")
            started = time.monotonic()
            for _ in lines:  # the events so far, then the end of the stream
                pass
            assert time.monotonic() - started < RECHECK_S + 5
        assert client.get(f"/v1/runs/{run_id}/events", params={"follow": "false"}).status_code == 401
    with shared_server.client(shared_server.admin) as admin:
        admin.post(f"/v1/runs/{run_id}/cancel")
