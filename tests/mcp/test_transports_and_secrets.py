"""Streamable HTTP on 127.0.0.1, a server that is not there, and secrets from a server's
configuration, which never reach an outcome, an error, a trace, a report or a log."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from mcp_peers import LITERAL_CANARY, PEER_TOKEN, Peers, refresh_table

from aos_core import ErrorCode, Runtime

CANARIES = (PEER_TOKEN, LITERAL_CANARY)


def test_a_server_over_streamable_http(http_peer: Callable[[], tuple[str, Path]], tmp_path: Path) -> None:
    url, log = http_peer()
    table = {"cache": str(tmp_path / "tools.json"), "servers": {"remote": {"url": url, "trusted": True}}}
    [report] = refresh_table(table)
    assert report["ok"] and "count" in report["tools"], report
    with Runtime(config={"plugins": {"mcp": table}}) as runtime:
        assert runtime.skills["remote__count"].side_effects.value == "write"
        first = runtime.execute("remote__count", {"label": "over http"})
        second = runtime.execute("remote__count", {"label": "over http"})
    assert first.ok and second.ok, (first.error, second.error)
    assert second.output == {"calls": 2, "label": "over http"}  # the structured content: the tool has an output schema
    assert log.read_text().count("call count over http") == 2


def test_a_server_that_is_not_there_is_a_transient_failure_before_anything_is_sent(tmp_path: Path) -> None:
    from mcp_peers import free_port

    table = {"cache": str(tmp_path / "tools.json"), "servers": {"gone": {"url": f"http://127.0.0.1:{free_port()}/mcp"}}}
    [report] = refresh_table(table)
    assert not report["ok"] and report["error"]["code"] == "CONNECTION_FAILED"
    assert report["error"]["category"] == "TRANSIENT" and "plugins.mcp.servers.gone" in report["error"]["message"]
    assert not (tmp_path / "tools.json").exists()  # nothing cached for it


def test_secrets_from_a_servers_configuration_never_leak(
    peers: Peers, caplog: pytest.LogCaptureFixture, aos_cli: object
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    with peers.runtime(store=peers.root / "secret-runs.sqlite3") as runtime:
        for name, shown in (
            ("PEER_TOKEN", "PEER_TOKEN"),
            ("PEER_LITERAL", "plugins.mcp.servers.peer.env.PEER_LITERAL"),
        ):
            outcome = runtime.execute("peer__echo_env", {"name": name})
            assert outcome.ok, outcome.error
            assert outcome.output == {"result": f"{name}=[REDACTED:{shown}]"}
            texts.append(outcome.model_dump_json())
        crashed = runtime.execute("peer__crash", {})
        texts.append(crashed.model_dump_json())
        plan = {
            "version": 1,
            "goal": "echo",
            "steps": [{"id": "e", "skill": "peer__echo_env", "params": {"name": "PEER_TOKEN"}}],
        }
        run = runtime.run(plan)
        texts += [run.model_dump_json(), runtime.trace(run.run_id).text(), json.dumps(runtime.query("history"))]
    texts += [record.getMessage() for record in caplog.records]
    texts.append((peers.root / "tools.json").read_text())
    for text in texts:
        for canary in CANARIES:
            assert canary not in text


def test_a_secret_the_environment_lacks_is_named_and_nothing_starts(peers: Peers) -> None:
    starts = len(peers.log_lines("start"))
    with peers.runtime(secrets={}) as runtime:
        outcome = runtime.execute("peer__count", {})
    assert outcome.error is not None and outcome.error.code == ErrorCode.INVALID_INPUT
    assert "PEER_TOKEN" in outcome.error.message and outcome.error.details["request_sent"] is False
    assert len(peers.log_lines("start")) == starts


def test_simulate_names_a_secret_a_servers_env_needs(peers: Peers) -> None:
    plan = {"version": 1, "goal": "count", "steps": [{"id": "c", "skill": "peer__count", "params": {}}]}
    with peers.runtime(secrets={}) as runtime:
        report = runtime.simulate(plan)
    assert not report.feasible
    assert any("PEER_TOKEN" in problem.message and problem.step_id == "c" for problem in report.problems)
