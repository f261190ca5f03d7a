"""The CLI: JSON arguments, exit codes by category, JSON on stdout and one line on stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aos_core.cli import cli


def aos(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)


def test_malformed_params_are_a_usage_error_with_the_position() -> None:
    result = aos("exec", "json_transform", "--params", '{"expression": "a",, }')
    assert result.exit_code == 2
    assert (
        "--params (inline) is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 20 (char 19)"
        in result.output
    )


def test_params_from_a_file_and_from_stdin(tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text('{"expression": "a", "data": {"a": 7}}')
    from_file = aos("exec", "json_transform", "--params", f"@{params}", "--json")
    from_stdin = aos("exec", "json_transform", "--params", "-", "--json", input=params.read_text())
    assert json.loads(from_file.stdout)["output"] == json.loads(from_stdin.stdout)["output"] == {"result": 7}
    missing = aos("exec", "json_transform", "--params", f"@{tmp_path / 'nope.json'}")
    assert missing.exit_code == 2 and "cannot read" in missing.output


@pytest.mark.parametrize(
    ("params", "code", "exit_code"),
    [
        ({"expression": "a[", "data": {}}, "INVALID_INPUT", 3),
        ({"expression": 5}, "SCHEMA_VALIDATION_FAILED", 3),
    ],
)
def test_exit_code_is_the_error_category(params: dict[str, Any], code: str, exit_code: int) -> None:
    result = aos("exec", "json_transform", "--params", json.dumps(params), "--json")
    assert result.exit_code == exit_code
    outcome = json.loads(result.stdout)  # stdout is exactly the outcome JSON
    assert outcome["error"]["code"] == code
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"aos: {code}: ")


def test_permission_and_resource_failures_have_their_exit_codes() -> None:
    denied = aos(
        "exec", "json_transform", "--params", '{"expression": "a", "data": {}}', "--json", "--profile", "/dev/null"
    )
    assert denied.exit_code == 2  # an empty profile file is malformed JSON: usage error
    budget = aos(
        "exec", "json_transform", "--params", '{"expression": "a", "data": {}}', "--contract", '{"max_calls": 0}'
    )
    assert budget.exit_code == 5 and "BUDGET_EXCEEDED" in budget.stderr


def test_a_profile_can_deny_a_skill(tmp_path: Path) -> None:
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"name": "locked", "policy": {"deny_skills": ["json_transform"]}}))
    result = aos("exec", "json_transform", "--params", '{"expression": "a", "data": {}}', "--profile", str(profile))
    assert result.exit_code == 4 and "PERMISSION_DENIED" in result.stderr


def test_an_unknown_skill_names_the_closest_and_exits_permanent() -> None:
    described = aos("describe", "json_transfrom")
    executed = aos("exec", "json_transfrom", "--json")
    assert described.exit_code == executed.exit_code == 7
    assert "did you mean json_transform?" in described.stderr
    assert json.loads(executed.stdout)["error"]["details"]["suggestions"] == ["json_transform"]


def test_schema_exports_every_contract() -> None:
    listed = json.loads(aos("schema", "--json").stdout)["schemas"]
    assert {"StructuredOutcome", "ErrorInfo", "SkillMetadata", "ResourceContract", "AgentProfile", "Plan"} <= set(
        listed
    )
    schema = json.loads(aos("schema", "ResourceContract", "--json").stdout)
    money = schema["properties"]["max_money"]["anyOf"]
    assert {"type": "string", "pattern": r"^\d+(\.\d+)?$", "examples": ["0.00315"]} in money  # never a float, never negative
    assert aos("schema", "Planz").exit_code == 2


def test_failures_json_is_the_catalog() -> None:
    from aos_core import failure_catalog

    data = json.loads(aos("failures", "--json").stdout)["failures"]
    assert [d["code"] for d in data] == [e.code.value for e in failure_catalog()]


def test_query_budget_and_unknown_key() -> None:
    budget = json.loads(aos("query", "budget", "--json", "--contract", '{"max_money": "1.5"}').stdout)
    assert budget["limits"]["max_money"] == "1.5" and budget["spent"]["money"] == "0"
    unknown = aos("query", "wallet")
    assert unknown.exit_code == 2 and "use one of: budget, history, state, skills, plugins, contracts" in unknown.stderr


def test_version() -> None:
    from aos_core import __version__

    assert aos("--version").stdout.strip() == f"aos {__version__}"


def test_run_simulate_show_replay_through_the_cli(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "goal": "cli",
                "steps": [
                    {"id": "a", "skill": "json_transform", "params": {"expression": "x", "data": {"x": [1, 2]}}},
                    {
                        "id": "b",
                        "skill": "json_transform",
                        "params": {"expression": "length(@)", "data": "${steps.a.output.result}"},
                    },
                ],
            }
        )
    )
    store = ["--store", str(tmp_path / "store")]
    assert json.loads(aos("simulate", str(plan), "--json").stdout)["feasible"] is True
    ran = json.loads(aos("run", str(plan), "--json", *store).stdout)
    assert ran["ok"] and ran["outcomes"]["b"]["output"] == {"result": 2}
    listed = json.loads(aos("runs", "--json", *store).stdout)["runs"]
    assert listed[0]["run_id"] == ran["run_id"]
    trace = aos("show", ran["run_id"], "--trace", *store).stdout
    (tmp_path / "run.jsonl").write_text(trace)
    replayed = aos("replay", str(tmp_path / "run.jsonl"), "--json")
    assert replayed.exit_code == 0 and json.loads(replayed.stdout)["matched"] is True
    changed = tmp_path / "changed.json"
    changed.write_text(plan.read_text().replace('"x", "data"', '"x[0]", "data"'))
    diverged = aos("replay", ran["run_id"], "--plan", str(changed), *store)
    assert diverged.exit_code == 7 and "replay diverged at step a" in diverged.output
    assert aos("show", "nonexistent", *store).exit_code == 2


def test_a_malformed_allow_net_is_a_usage_error() -> None:
    result = aos("exec", "json_transform", "--params", '{"expression": "a", "data": {}}', "--allow-net", "http://x:1")
    assert result.exit_code == 2 and "not a URL" in result.output


def test_describe_names_the_estimator_that_prices_a_skill() -> None:
    """Discovery records which estimator covers each skill; describe shows it, cold and from the cache."""
    for _ in range(2):
        priced = aos("describe", "llm_invoke")
        assert "cost: priced per call by estimator 'anthropic' (plugin llm)" in priced.stdout
        assert "USD per call" not in priced.stdout
    assert "cost: 0 USD per call" in aos("describe", "json_transform").stdout


def nested(levels: int) -> str:
    """JSON params for json_transform whose whole text nests `levels` arrays and objects deep."""
    return '{"expression": "a", "data": ' + "[" * (levels - 1) + "]" * (levels - 1) + "}"


@pytest.mark.parametrize("how", ["inline", "file", "stdin"])
def test_json_nested_past_the_limit_is_a_short_usage_error(tmp_path: Path, how: str) -> None:
    from aos_core.cli.io import MAX_JSON_DEPTH

    text = nested(5000)  # deep enough to hit Python's recursion limit inside json.loads
    params = {"inline": text, "file": f"@{tmp_path / 'p.json'}", "stdin": "-"}[how]
    (tmp_path / "p.json").write_text(text)
    result = aos("exec", "json_transform", "--params", params, input=text if how == "stdin" else None)
    assert result.exit_code == 2
    assert f"is nested more than {MAX_JSON_DEPTH} levels deep" in result.output
    assert len(result.output) < 400


def test_json_nesting_is_counted_exactly() -> None:
    from aos_core.cli.io import MAX_JSON_DEPTH

    assert aos("exec", "json_transform", "--params", nested(MAX_JSON_DEPTH), "--json").exit_code == 0
    assert aos("exec", "json_transform", "--params", nested(MAX_JSON_DEPTH + 1), "--json").exit_code == 2


def test_an_integer_python_will_not_read_is_a_usage_error() -> None:
    result = aos("exec", "json_transform", "--params", '{"expression": "a", "data": {"a": ' + "9" * 5000 + "}}")
    assert result.exit_code == 2
    assert "has an integer longer than 4300 digits; send such a number as a string" in result.output


def test_a_file_that_is_not_utf8_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "p.json").write_bytes(b'{"expression": "caf\xe9"}')
    result = aos("exec", "json_transform", "--params", f"@{tmp_path / 'p.json'}")
    assert result.exit_code == 2
    assert f"--params ({tmp_path / 'p.json'}) is not UTF-8 text: byte 19 (0xe9)" in result.output


def test_a_plan_nested_past_the_limit_is_a_usage_error(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"version": 1, "goal": "g", "steps": [{"id": "a", "skill": "json_transform", "params": '
                    + nested(300) + "}]}")  # fmt: skip
    result = aos("simulate", str(plan))
    assert result.exit_code == 2
    assert "PLAN" in result.output and "nested more than" in result.output


def test_a_config_file_named_on_the_command_line_must_exist(tmp_path: Path) -> None:
    result = aos("exec", "json_transform", "--params", '{"expression": "a", "data": {}}', "--config", "nothere.toml")
    assert result.exit_code == 2
    assert "configuration file nothere.toml does not exist" in result.output


def test_malformed_toml_is_named_with_its_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('disabled_plugins = []\nmax_output_bytes = \n')
    result = aos("exec", "json_transform", "--params", '{"expression": "a", "data": {}}', "--config", str(bad))
    assert result.exit_code == 2
    assert f"configuration file {bad} is not valid TOML: Invalid value (at line 2, column 20)" in result.output


def test_a_broken_home_config_is_named_by_discovery_too(tmp_path: Path) -> None:
    import os

    home = Path(os.environ["AOS_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text("[plugins.x]\nservers = [\n")
    result = aos("skills", "--json")
    assert result.exit_code == 2
    assert f"configuration file {home / 'config.toml'} is not valid TOML" in result.output


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1e1000000", "at most"),  # once a decimal.Overflow traceback
        ("1e-99999999", "decimal places"),  # once accepted (a 301 MB database followed)
        ("-1", "never negative"),
        ("0.1234567890123456789", "decimal places"),
    ],
)
def test_a_contract_money_out_of_range_is_a_usage_error(value: str, why: str) -> None:
    result = aos("exec", "json_transform", "--contract", json.dumps({"max_money": value}))
    assert result.exit_code == 2, result.output
    assert why in result.output and "Traceback" not in result.output


def test_a_contract_field_with_a_typo_is_a_usage_error() -> None:
    result = aos("exec", "json_transform", "--contract", '{"max_mony": "1"}')
    assert result.exit_code == 2 and "max_mony" in result.output


LONE = '{"expression": "a", "data": {"a": "x\\ud800"}}'  # JSON text: the escape, not the code point


@pytest.mark.parametrize("how", ["inline", "file", "stdin", "not-utf8-argv"])
def test_a_lone_surrogate_is_a_usage_error_with_where_it_is(tmp_path: Path, how: str) -> None:
    """Python's json reads "\\ud800" alone into a string UTF-8 cannot write (and an argument that
    was not UTF-8 arrives with such a code point): refused where the argument is read."""
    (tmp_path / "p.json").write_text(LONE)
    params = {"inline": LONE, "file": f"@{tmp_path / 'p.json'}", "stdin": "-"}.get(how, '{"expression": "a\udcff"}')
    result = aos("exec", "json_transform", "--params", params, input=LONE if how == "stdin" else None)
    assert result.exit_code == 2
    where = "expression" if how == "not-utf8-argv" else "data.a"
    assert f"is not Unicode text: the string at {where} holds a lone surrogate" in result.output


def test_a_plan_with_a_lone_surrogate_is_refused_and_records_nothing(tmp_path: Path) -> None:
    """It ended in `aos: internal error: UnicodeEncodeError` where the run header was written."""
    plan = tmp_path / "plan.json"
    plan.write_text('{"steps": [{"id": "a", "skill": "json_transform", "params": ' + LONE + "}]}")
    result = aos("run", str(plan))
    assert result.exit_code == 2, result.output
    assert "PLAN (" in result.output and "steps.0.params.data.a holds a lone surrogate" in result.output
    assert json.loads(aos("runs", "--json").stdout)["runs"] == []
    pair = '{"expression": "a", "data": {"a": "\\ud83d\\ude00"}}'  # a surrogate pair is one code point
    plan.write_text('{"steps": [{"id": "a", "skill": "json_transform", "params": ' + pair + "}]}")
    assert aos("run", str(plan)).exit_code == 0
    assert len(json.loads(aos("runs", "--json").stdout)["runs"]) == 1


def test_a_long_goal_with_line_breaks_is_one_short_line_in_runs_and_show(tmp_path: Path) -> None:
    """A goal is text a planner or a person wrote: 300 KB, or several lines, it broke the `aos runs`
    table and filled the terminal in `aos show`. One line, cut, in text; whole with --json."""
    goal = "first line\nsecond\tline " + "x" * 300_000
    plan = tmp_path / "plan.json"
    step = {"id": "a", "skill": "json_transform", "params": {"expression": "x", "data": {"x": 1}}}
    plan.write_text(json.dumps({"goal": goal, "steps": [step]}))
    store = ["--store", str(tmp_path / "store")]
    run_id = json.loads(aos("run", str(plan), "--json", *store).stdout)["run_id"]
    listed = aos("runs", *store).stdout.splitlines()
    assert len(listed) == 2 and "first line second line xxx" in listed[1] and listed[1].endswith("\u2026")
    shown = aos("show", run_id, *store).stdout.splitlines()
    assert shown[0].startswith(f"run {run_id}  completed  first line second line x") and len(shown[0]) < 300
    assert json.loads(aos("show", run_id, "--json", *store).stdout)["goal"] == goal


def test_a_rate_limit_that_is_not_a_finite_number_says_so() -> None:
    refused = aos("query", "budget", "--contract", '{"rate_limits": {"x": {"per_second": NaN}}}')
    assert refused.exit_code == 2 and "finite number" in refused.stderr and "1000000" not in refused.stderr
