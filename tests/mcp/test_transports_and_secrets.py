"""Streamable HTTP on 127.0.0.1, a server that is not there, and secrets from a server's
configuration, which never reach an outcome, an error, a trace, a report or a log."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

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


def _pid_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_server_that_never_answers_the_handshake_fails_in_time_and_is_stopped(tmp_path: Path) -> None:
    """A real process that reads nothing and says nothing: the refresh fails soon after the
    startup timeout (not after a 10 s wait for a stop it cannot hear), and the process is gone."""
    import sys
    import time

    pid_file = tmp_path / "pid"
    script = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(600)"
    table = {
        "cache": str(tmp_path / "tools.json"),
        "servers": {"mute": {"command": sys.executable, "args": ["-c", script], "startup_timeout_ms": 1500}},
    }
    started = time.monotonic()
    [report] = refresh_table(table)
    took = time.monotonic() - started
    assert not report["ok"] and report["error"]["code"] == "CONNECTION_FAILED", report
    assert "did not finish its handshake within 1500 ms" in report["error"]["message"]
    assert took < 8, f"the refresh took {took:.1f} s"
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _pid_alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _pid_alive(pid), f"the server (pid {pid}) was left running"


def test_a_server_writing_non_json_to_stdout_prints_no_traceback(tmp_path: Path, aos_cli: Any) -> None:
    """The SDK logs such a line with its traceback (and the line itself, which may hold a secret);
    `aos mcp refresh` says one line per server, nothing more."""
    import sys

    home = tmp_path / "home"
    home.mkdir()
    script = "import sys; print('TOKEN=not-json-line'); sys.stdout.flush(); sys.stdin.readline(); sys.exit(3)"
    (home / "config.toml").write_text(
        f"[plugins.mcp.servers.noisy]\ncommand = {json.dumps(sys.executable)}\nargs = ['-c', {json.dumps(script)}]\n",
        "utf-8",
    )
    done = aos_cli("mcp", "refresh", env={"AOS_HOME": str(home)}, timeout=60)
    assert done.returncode == 6, done.stderr
    assert "Traceback" not in done.stderr and "not-json-line" not in done.stderr, done.stderr
    assert done.stderr.strip().startswith("aos: 1 server(s) could not be refreshed: cannot reach MCP server noisy")
