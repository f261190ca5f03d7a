"""MCP servers' tools as skills, against real peers over stdio: mapped metadata, calls through the
one pipeline (approval, budget, retries, failures as data), and a server that crashes."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

from mcp_peers import Peers, git, toml_text

from aos_core import AgentProfile, ErrorCode, Policy, ResourceContract, RetryPolicy, SideEffect


def test_tools_become_skills_with_metadata_mapped_from_their_annotations(peers: Peers) -> None:
    with peers.runtime() as runtime:
        skills = runtime.skills
    status, commit, reset = skills["git__git_status"], skills["git__git_commit"], skills["git__git_reset"]
    assert (status.side_effects, status.idempotent, status.network) == (SideEffect.READ, True, False)
    assert (commit.side_effects, commit.idempotent) == (SideEffect.WRITE, False)
    assert commit.cost.money_per_call == Decimal("0.01")  # the operator's price for this one tool
    assert reset.side_effects == SideEffect.DESTRUCTIVE
    assert status.deterministic is False and status.version == reset.version
    assert status.input_schema is not None and status.input_schema["required"] == ["repo_path"]
    # mcp-server-time is not trusted: its read-only hints are not believed
    current = skills["time__get_current_time"]
    assert (current.side_effects, current.idempotent, current.network) == (SideEffect.DESTRUCTIVE, False, True)
    assert current.output_schema is not None and "datetime" in current.output_schema["properties"]
    count = skills["peer__count"]
    assert (count.side_effects, count.idempotent, count.cost.money_per_call) == (
        SideEffect.WRITE,
        False,
        Decimal("0.002"),
    )


def test_listing_skills_never_starts_a_server(peers: Peers, aos_cli: Any) -> None:
    aos_home = Path(os.environ["AOS_HOME"])
    (aos_home / "config.toml").write_text(toml_text({"plugins": {"mcp": peers.table}}))
    starts = len(peers.log_lines("start"))
    listed = aos_cli("skills", "--json")
    assert listed.returncode == 0, listed.stderr
    assert {"peer__count", "git__git_status", "time__convert_time"} <= {
        s["name"] for s in json.loads(listed.stdout)["skills"]
    }
    status = aos_cli("mcp", "status", "--json")
    assert status.returncode == 0, status.stderr
    servers = {s["server"]: s for s in json.loads(status.stdout)["servers"]}
    assert servers["git"]["state"] == "ready" and servers["time"]["trusted"] is False
    with peers.runtime() as runtime:
        assert "peer__count" in runtime.skills
    assert len(peers.log_lines("start")) == starts


def test_a_refresh_shows_in_aos_skills_at_once(peers: Peers, aos_cli: Any, tmp_path: Path) -> None:
    """`aos skills` caches discovery; `aos mcp refresh` writes the tool cache under $AOS_HOME/plugins,
    which the discovery cache is keyed on, so the next `aos skills` lists the new tools."""
    aos_home = Path(os.environ["AOS_HOME"])
    table = {"servers": {"clock": dict(peers.table["servers"]["time"])}}  # the default cache: $AOS_HOME/plugins/mcp
    (aos_home / "config.toml").write_text(toml_text({"plugins": {"mcp": table}}))
    before = aos_cli("skills", "--json")
    assert "clock__get_current_time" not in before.stdout
    refreshed = aos_cli("mcp", "refresh", "--json")
    assert refreshed.returncode == 0, refreshed.stderr
    assert json.loads(refreshed.stdout)["servers"][0]["tools"] == ["get_current_time", "convert_time"]
    after = aos_cli("skills", "--json")
    assert "clock__get_current_time" in {s["name"] for s in json.loads(after.stdout)["skills"]}


def test_a_read_only_call(peers: Peers) -> None:
    with peers.runtime() as runtime:
        outcome = runtime.execute("git__git_status", {"repo_path": str(peers.repo)})
    assert outcome.ok, outcome.error
    assert "On branch main" in outcome.output["text"]
    assert outcome.output["content"][0]["type"] == "text" and outcome.attempts == 1


def test_a_destructive_call_is_refused_without_approval(peers: Peers) -> None:
    (peers.repo / "b.txt").write_text("staged\n")
    git(peers.repo, "add", "b.txt")
    try:
        with peers.runtime() as runtime:
            refused = runtime.execute("git__git_reset", {"repo_path": str(peers.repo)})
        assert refused.error is not None and refused.error.code == ErrorCode.PERMISSION_DENIED
        assert refused.attempts == 0
        assert git(peers.repo, "diff", "--cached", "--name-only").split() == ["b.txt"]  # nothing was reset
        with peers.runtime(approve=lambda request: request.skill == "git__git_reset") as runtime:
            done = runtime.execute("git__git_reset", {"repo_path": str(peers.repo)})
        assert done.ok, done.error
        assert git(peers.repo, "diff", "--cached", "--name-only").split() == []
    finally:
        git(peers.repo, "reset", "-q")
        (peers.repo / "b.txt").unlink()


def test_a_budget_refusal_sends_nothing_to_the_server(peers: Peers) -> None:
    head = git(peers.repo, "rev-parse", "HEAD")
    calls = len(peers.log_lines("call count"))
    with peers.runtime(contract=ResourceContract(max_money="0.011")) as runtime:
        first = runtime.execute("peer__count", {"label": "paid"})
        commit = runtime.execute("git__git_commit", {"repo_path": str(peers.repo), "message": "over budget"})
        second = runtime.execute("peer__count", {"label": "paid"})
        spent = runtime.query("budget")["spent"]
    assert first.ok and first.cost.money == Decimal("0.002")
    assert commit.error is not None and commit.error.code == ErrorCode.BUDGET_EXCEEDED, commit.error
    assert commit.attempts == 0 and git(peers.repo, "rev-parse", "HEAD") == head
    assert second.ok  # 0.004 of 0.011: the refused commit (0.01) spent nothing
    assert len(peers.log_lines("call count")) == calls + 2
    assert Decimal(spent["money"]) == Decimal("0.004")
    with peers.runtime(contract=ResourceContract(max_money="0.001")) as runtime:
        refused = runtime.execute("peer__count", {"label": "refused"})
    assert refused.error is not None and refused.error.code == ErrorCode.BUDGET_EXCEEDED
    assert len(peers.log_lines("call count")) == calls + 2  # the server never heard of it
    assert not [line for line in peers.log_lines("call count") if line.endswith("refused")]


def test_parameters_that_break_the_tool_schema_are_refused_before_sending(peers: Peers) -> None:
    calls = len(peers.log_lines("call"))
    with peers.runtime() as runtime:
        outcome = runtime.execute("peer__count", {"label": 5})
    assert outcome.error is not None and outcome.error.code == ErrorCode.SCHEMA_VALIDATION_FAILED
    assert outcome.error.details["errors"][0]["loc"] == "label"
    assert len(peers.log_lines("call")) == calls


def test_a_tool_error_is_a_failed_outcome_with_the_tools_text(peers: Peers) -> None:
    with peers.runtime() as runtime:
        outcome = runtime.execute("peer__fail", {"reason": "the disk is full"})
    error = outcome.error
    assert error is not None and error.code == ErrorCode.TOOL_ERROR and error.category.value == "PERMANENT"
    assert (
        "the disk is full" in error.message and error.details["text"] == "Error executing tool fail: the disk is full"
    )
    assert outcome.attempts == 1  # not retryable


def test_a_crashed_server_is_a_transient_failure_and_is_restarted(peers: Peers) -> None:
    retry = RetryPolicy(max_attempts=2, base_delay_ms=0, max_delay_ms=0)
    starts = len(peers.log_lines("start"))
    with peers.runtime(profile=AgentProfile(policy=Policy(retry=retry))) as runtime:
        crashed = runtime.execute("peer__crash", {})
        after = runtime.execute("peer__count", {"label": "after the crash"})
    error = crashed.error
    assert error is not None and error.code == ErrorCode.CONNECTION_FAILED, error
    assert error.category.value == "TRANSIENT" and error.retryable
    assert error.details["reason"] == "server_exited" and error.details["request_sent"] is True
    assert "crashing on purpose" in error.message  # the server's last stderr line
    assert crashed.attempts == 2  # read-only, so retried: on a restarted server, which crashed again
    assert after.ok, after.error
    assert len(peers.log_lines("start")) == starts + 3


def test_a_call_over_its_timeout_is_a_timeout(peers: Peers) -> None:
    policy = Policy(retry=RetryPolicy(max_attempts=1))
    with peers.runtime(profile=AgentProfile(policy=policy)) as runtime:
        assert runtime.execute("peer__count", {"label": "warm"}).ok  # the server is up: only the tool is slow
        slow = len(peers.log_lines("call slow"))
        outcome = runtime.execute("peer__slow", {"seconds": 3})
    assert outcome.error is not None and outcome.error.code == ErrorCode.TIMEOUT
    assert outcome.error.details["timeout_ms"] == 500  # the tool's timeout_ms from the configuration
    assert len(peers.log_lines("call slow")) == slow + 1


def test_a_first_call_that_times_out_while_the_server_starts_leaves_it_starting(peers: Peers) -> None:
    policy = Policy(retry=RetryPolicy(max_attempts=1), timeouts_ms={"peer__count": 50})
    starts = len(peers.log_lines("start"))
    with peers.runtime(profile=AgentProfile(policy=policy)) as runtime:
        first = runtime.execute("peer__count", {"label": "too soon"})
        assert first.error is not None and first.error.code == ErrorCode.TIMEOUT
        for _ in range(100):  # the start goes on without the call that gave up; the next call uses it
            later = runtime.execute("peer__count", {"label": "later"})
            if later.ok:
                break
        assert later.ok, later.error
    assert len(peers.log_lines("start")) == starts + 1
