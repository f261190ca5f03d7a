"""One error style, printed once: a line `aos: ...` on stderr, the usage only for usage errors, and
with --json one JSON object on stdout (usage errors included). Run as the real `aos` subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest


def error_of(done: Any) -> dict[str, Any]:
    """The one JSON object on stdout, and its error."""
    data = json.loads(done.stdout)
    assert data["ok"] is False
    error: dict[str, Any] = data["error"]
    return error


@pytest.mark.parametrize(
    ("args", "code", "exit_code", "says"),
    [
        (["runz"], "USAGE_ERROR", 2, "no command 'runz'; did you mean run or runs?"),
        (["run", "--frobnicate"], "USAGE_ERROR", 2, "No such option '--frobnicate'"),
        (["replay", "NOSUCH"], "RUN_NOT_FOUND", 2, "no run 'NOSUCH'"),
        (["show", "NOSUCH"], "RUN_NOT_FOUND", 2, "no run 'NOSUCH'"),
        (["describe", "json_transfrom"], "SKILL_NOT_FOUND", 7, "did you mean json_transform?"),
        (["exec", "json_transform", "--contract", '{"max_mony": "1"}'], "USAGE_ERROR", 2, "did you mean max_money"),
        (["runs", "--limit", "-1"], "USAGE_ERROR", 2, "Invalid value for '--limit'"),  # listed every run
        (["runs", "--limit", "100000000000000000000"], "USAGE_ERROR", 2, "Invalid value for '--limit'"),  # INTERNAL
    ],
)
def test_every_failure_is_one_json_object_with_json_and_one_line_without(
    aos_cli: Any, args: list[str], code: str, exit_code: int, says: str
) -> None:
    with_json = aos_cli(*args, "--json")
    assert with_json.returncode == exit_code, with_json.stderr
    error = error_of(with_json)
    assert error["code"] == code and says in error["message"]
    assert with_json.stdout.count("\n") == 1  # one document
    assert with_json.stderr.count("\n") == 1 and with_json.stderr.startswith("aos: ")  # and one line
    plain = aos_cli(*args)
    assert plain.returncode == exit_code and plain.stdout == ""
    first, *rest = plain.stderr.splitlines()
    assert first.startswith("aos: ") and says in first
    usage = code == "USAGE_ERROR"
    assert bool(rest) == usage, plain.stderr  # the usage follows usage errors only
    if usage:
        assert rest[0].startswith("usage: aos") and rest[1].startswith("see 'aos")
    assert "Traceback" not in plain.stderr + with_json.stderr


def test_a_failed_exec_is_printed_once(aos_cli: Any) -> None:
    """No outcome block on stdout and the same failure again on stderr: one line, once."""
    done = aos_cli("exec", "json_transform", "--params", '{"expression": "a[", "data": {}}')
    assert done.returncode == 3
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("aos: INVALID_INPUT: ")


def test_a_plan_given_to_replay_is_named_a_plan(aos_cli: Any, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"version": 1, "goal": "g", "steps": []}))
    done = aos_cli("replay", str(plan), "--json")
    assert done.returncode == 2
    assert error_of(done)["code"] == "TRACE_INVALID"
    assert f"{plan} is a plan, not a trace" in done.stderr and f"aos run {plan}" in done.stderr


def test_each_command_lists_only_the_options_it_uses_and_ends_with_examples(aos_cli: Any) -> None:
    runs_help = aos_cli("runs", "--help").stdout
    for unused in ("--allow-net", "--approve", "--seed", "--contract", "--profile"):
        assert unused not in runs_help
    assert "Examples:" in runs_help
    for command in ("exec", "query", "plan", "simulate", "run", "show", "replay", "skills", "plugins", "install"):
        assert "Examples:" in aos_cli(command, "--help").stdout, command
    top = aos_cli("--help").stdout
    assert "aos demo" in top and "docs/" in top


def test_aos_skills_counts_the_plugins_that_failed(aos_cli: Any, tmp_path: Path) -> None:
    """A plugin entry point that fails to import: one line on stderr, the skills still listed."""
    site = tmp_path / "site"
    dist = site / "aos_broken_demo-0.1.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: aos-broken-demo\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[aos]\nbroken = aos_broken_demo_missing\n")
    done = aos_cli("skills", env={"PYTHONPATH": str(site), "AOS_NO_CACHE": "1"})
    assert done.returncode == 0
    assert "json_transform" in done.stdout
    assert done.stderr == "aos: 1 plugin(s) failed to load: see aos plugins\n"


def test_query_answers_from_the_latest_recorded_run_or_the_one_named(aos_cli: Any, tmp_path: Path) -> None:
    """history, state and budget of a run recorded by an earlier `aos run` (another process)."""
    plan = tmp_path / "plan.json"
    steps = [{"id": "a", "skill": "json_transform", "params": {"expression": "x", "data": {"x": [1, 2]}}}]
    plan.write_text(json.dumps({"version": 1, "goal": "q", "steps": steps}))
    first = json.loads(aos_cli("run", str(plan), "--json", "--contract", '{"max_calls": 5}').stdout)["run_id"]
    steps.append({"id": "b", "skill": "json_transform", "params": {"expression": "[0]", "data": "${steps.a.output.result}"}})
    plan.write_text(json.dumps({"version": 1, "goal": "q", "steps": steps}))
    second = json.loads(aos_cli("run", str(plan), "--json").stdout)["run_id"]
    history = json.loads(aos_cli("query", "history", "--json").stdout)
    assert history["run_id"] == second and history["count"] == 2
    named = json.loads(aos_cli("query", "history", "--run", first, "--json").stdout)
    assert named["run_id"] == first and [o["step_id"] for o in named["outcomes"]] == ["a"]
    budget = json.loads(aos_cli("query", "budget", "--run", first, "--json").stdout)
    assert budget["limits"]["max_calls"] == 5 and budget["spent"]["calls"] == 1 and budget["remaining"]["calls"] == 4
    assert json.loads(aos_cli("query", "state", "--json").stdout)["state"] == {}
    assert aos_cli("query", "skills", "--run", first).returncode == 2


def test_a_plain_http_connection_error_says_nothing_of_tls(aos_cli: Any) -> None:
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    done = aos_cli("exec", "http_call", "--params", json.dumps({"url": f"http://127.0.0.1:{port}/"}),
                   "--allow-net", f"127.0.0.1:{port}", "--json")  # fmt: skip
    error = error_of(done)
    assert error["code"] == "CONNECTION_FAILED" and "ssl:" not in error["message"]


def test_aos_plugins_counts_cost_warnings_per_estimator(aos_cli: Any) -> None:
    """What `aos exec`/`aos run` record when an outcome carries a cost warning, `aos plugins` shows."""
    from aos_core.cli.records import note_cost_warnings

    warning = {"kind": "overrun", "estimator": "anthropic", "message": "estimator anthropic priced llm_invoke above"}
    assert note_cost_warnings([{"skill": "llm_invoke", "cost_warning": warning}, {"skill": "x", "cost_warning": None}]) == 1
    note_cost_warnings([{"skill": "llm_invoke", "cost_warning": {**warning, "kind": "unpriced"}}])
    listed = json.loads(aos_cli("plugins", "--json").stdout)["cost_warnings"]
    assert {k: listed["anthropic"][k] for k in ("overrun", "unpriced", "last_skill")} == {
        "overrun": 1, "unpriced": 1, "last_skill": "llm_invoke"}  # fmt: skip
    assert "cost warnings from estimator anthropic: 1 overrun(s), 1 unpriced" in aos_cli("plugins").stdout
