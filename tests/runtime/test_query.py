"""`Runtime.query`: what happened, as data, without parsing logs."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from aos_core import ErrorCode, ResourceContract, SkillError
from aos_core.testing.fakes import fake_skill


@pytest.fixture
def busy(make_runtime: Any) -> Any:
    def store(params: Any, ctx: Any) -> dict[str, Any]:
        ctx.state.set("seen", ctx.state.get("seen", 0) + 1)
        return {}

    runtime = make_runtime(
        fake_skill("ok_skill", store),
        fake_skill("bad_skill", raises=SkillError(ErrorCode.HTTP_4XX, "404")),
        contract=ResourceContract(id="small", max_calls=10, max_money="1"),
    )
    for _ in range(3):
        runtime.execute("ok_skill", {})
    runtime.execute("bad_skill", {})
    runtime.execute("missing", {})
    return runtime


def test_history_filters_by_skill_status_and_code(busy: Any) -> None:
    assert busy.query("history")["count"] == 5
    assert busy.query("history", {"skill": "ok_skill"})["count"] == 3
    failed = busy.query("history", {"status": "failed"})
    assert [o["error"]["code"] for o in failed["outcomes"]] == ["HTTP_4XX", "SKILL_NOT_FOUND"]
    assert busy.query("history", {"code": "HTTP_4XX"})["outcomes"][0]["skill"] == "bad_skill"
    assert len(busy.query("history", {"limit": 2})["outcomes"]) == 2


def test_budget_shows_limits_spent_reserved_and_remaining(busy: Any) -> None:
    budget = busy.query("budget")
    assert budget["contract"] == "small"
    assert budget["limits"]["max_calls"] == 10 and budget["limits"]["max_money"] == "1"
    assert budget["spent"]["calls"] == 4  # the missing skill never reached the budget
    assert budget["reserved"]["calls"] == 0 and budget["remaining"]["calls"] == 6


def test_state_skills_plugins_and_contracts(busy: Any) -> None:
    assert busy.query("state") == {"state": {"seen": 3}}
    assert [s["name"] for s in busy.query("skills")["skills"]] == ["bad_skill", "ok_skill"]
    assert any(p["name"] == "core-classifier" for p in busy.query("plugins")["plugins"])
    assert busy.query("contracts")["contracts"][0]["id"] == "small"
    assert busy.get_resource_contract("small").max_calls == 10
    with pytest.raises(KeyError, match="no resource contract 'big'"):
        busy.get_resource_contract("big")


def test_bad_query_input_is_a_clear_error(busy: Any) -> None:
    with pytest.raises(ValueError, match="unknown query key 'wallet'"):
        busy.query("wallet")
    with pytest.raises(ValueError, match="'ok' or 'failed'"):
        busy.query("history", {"status": "meh"})


def test_history_holds_what_was_executed_and_a_replay_adds_nothing(make_runtime: Any, tmp_path: Any) -> None:
    """A run's steps were executed, so they are history; a replay re-derives them and spends
    nothing, so `query("history")` after it is what it was before."""
    runtime = make_runtime(fake_skill("ok_skill", lambda params, ctx: {}), store=tmp_path / "runs.sqlite3")
    plan = {"steps": [{"id": "a", "skill": "ok_skill", "params": {}}, {"id": "b", "skill": "ok_skill", "params": {}}]}
    run = runtime.run(plan)
    assert run.ok and runtime.query("history")["count"] == 2
    assert runtime.replay(run.run_id).matched
    assert runtime.query("history")["count"] == 2


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"limit": -1}, "whole number, 0 or more"),  # it returned every outcome but the first
        ({"limit": "x"}, "whole number"),  # "invalid literal for int() with base 10: 'x'"
        ({"limit": True}, "whole number"),
        ({"limmit": 2}, "unknown history param(s) limmit"),  # was ignored
        ({"code": 5}, "not a code of the failure catalog"),
        ([1], "a JSON object"),  # TypeError from dict()
    ],
)
def test_history_params_that_mean_nothing_are_refused(busy: Any, params: Any, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        busy.query("history", params)


@pytest.mark.parametrize(
    ("params", "says"),
    [("[1]", "a JSON object"), ('{"limit": 1e400}', "whole number"), ('{"limit": -1}', "whole number")],
)
def test_aos_query_history_with_bad_params_is_a_usage_error(
    aos_cli: Any, tmp_path: Any, params: str, says: str
) -> None:
    # a recorded run is read: '[1]' was INTERNAL AttributeError, 1e400 INTERNAL OverflowError (exit 1)
    plan = tmp_path / "plan.json"
    step = {"id": "a", "skill": "json_transform", "params": {"expression": "a", "data": {"a": 1}}}
    plan.write_text(json.dumps({"version": 1, "goal": "g", "steps": [step]}))
    assert aos_cli("run", str(plan)).returncode == 0
    done = aos_cli("query", "history", "--params", params, "--json")
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "USAGE_ERROR" and says in error["message"]
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
