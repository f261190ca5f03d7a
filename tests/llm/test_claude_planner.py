"""The claude planner, through Runtime.aplan, with the fake Messages API scripted to answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aos_skill_json.plugin
from aos_core import ErrorCategory, ErrorCode, PlanResult, ResourceContract, Runtime
from aos_core.testing.messages_api import MessagesAPIServer

MakeRuntime = Callable[..., Runtime]

VALID_PLAN = {
    "version": 1,
    "goal": "shout the answer",
    "steps": [
        {"id": "ask", "skill": "llm_invoke", "params": {"prompt": "What is 6 x 7?", "max_tokens": 16}},
        {
            "id": "pick",
            "skill": "json_transform",
            "params": {"expression": "text", "data": "${steps.ask.output}"},
        },
    ],
}


def _plan(make_runtime: MakeRuntime, goal: str = "shout the answer", **kwargs: Any) -> PlanResult:
    async def go() -> PlanResult:
        async with make_runtime(plugins=[aos_skill_json.plugin], **kwargs) as runtime:
            return await runtime.aplan(goal, planner="claude")

    return asyncio.run(go())


def test_valid_plan_is_returned(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """A plan that fits the skills' schemas comes back ok, as a Plan."""
    server.reply_json(VALID_PLAN)
    result = _plan(make_runtime)
    assert result.ok, result.error
    assert result.planner == "claude" and result.plan is not None
    assert [step.id for step in result.plan.steps] == ["ask", "pick"]


def test_prompt_names_goal_skills_schemas_and_contract(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """The request carries the goal, the skills (name, side effects, input schema), the contract and the Plan schema."""
    server.reply_json(VALID_PLAN)
    _plan(make_runtime, goal="count the stars", contract=ResourceContract(max_calls=7))
    body = server.requests[0].body
    prompt = body["messages"][0]["content"]
    assert "Goal: count the stars" in prompt
    skills = json.loads(prompt.split("Skills available (JSON):\n", 1)[1].split("\n\nResource contract", 1)[0])
    by_name = {skill["name"]: skill for skill in skills}
    assert set(by_name) == {"llm_invoke", "json_transform"}
    assert by_name["json_transform"]["side_effects"] == "none"
    assert "expression" in by_name["json_transform"]["input_schema"]["properties"]
    assert '"max_calls": 7' in prompt
    assert '"steps"' in body["system"] and "JSON Schema" in body["system"]
    assert "temperature" not in body


def test_planner_config_sets_model_and_max_tokens(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """planners.claude.model and max_tokens reach the request."""
    server.reply_json(VALID_PLAN)
    _plan(make_runtime, planners={"claude": {"model": "claude-haiku-4-5", "max_tokens": 900, "temperature": 0}})
    body = server.requests[0].body
    assert (body["model"], body["max_tokens"], body["temperature"]) == ("claude-haiku-4-5", 900, 0)


def test_plan_with_unknown_skill_and_bad_params_is_a_validation_result(
    make_runtime: MakeRuntime, server: MessagesAPIServer
) -> None:
    """A well-formed plan that does not fit the skills: OUTPUT_VALIDATION_FAILED with each problem, not an exception."""
    server.reply_json(
        {
            "version": 1,
            "steps": [
                {"id": "a", "skill": "teleport", "params": {}},
                {"id": "b", "skill": "json_transform", "params": {"expression": "x"}},
            ],
        }
    )
    result = _plan(make_runtime)
    assert not result.ok and result.error is not None
    assert result.error.code is ErrorCode.OUTPUT_VALIDATION_FAILED
    assert result.error.category is ErrorCategory.VALIDATION
    codes = {(p.step_id, p.code) for p in result.problems}
    assert ("a", ErrorCode.SKILL_NOT_FOUND) in codes
    assert ("b", ErrorCode.SCHEMA_VALIDATION_FAILED) in codes


def test_answer_that_is_not_a_plan_is_a_validation_result(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """An answer that does not match the Plan schema fails in llm_invoke: OUTPUT_VALIDATION_FAILED, with the reason."""
    server.reply_json({"version": 1, "steps": []})
    result = _plan(make_runtime)
    assert not result.ok and result.error is not None
    assert result.error.code is ErrorCode.OUTPUT_VALIDATION_FAILED
    assert "steps" in result.error.message


def test_invalid_then_valid_plans(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """Asked twice, an invalid answer then a valid one give a failed then an ok result."""
    server.reply_text("I would fetch the page first.")
    server.reply_json(VALID_PLAN)
    first, second = _plan(make_runtime), _plan(make_runtime)
    assert not first.ok and first.error is not None and first.error.code is ErrorCode.OUTPUT_VALIDATION_FAILED
    assert second.ok


def test_failed_call_is_the_planner_error(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """When llm_invoke fails, the plan result carries its code and message."""
    result = _plan(make_runtime, llm={"api_key": None})
    assert not result.ok and result.error is not None
    assert result.error.code is ErrorCode.PERMISSION_DENIED and "ANTHROPIC_API_KEY" in result.error.message
    assert server.requests == []


def test_planning_spends_from_the_budget(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """The planner's call goes through the runtime's budget: too small a budget refuses it before sending."""
    result = _plan(make_runtime, contract=ResourceContract(max_money="0.0001"))
    assert not result.ok and result.error is not None and result.error.code is ErrorCode.BUDGET_EXCEEDED
    assert server.requests == []


def test_secret_mentioned_in_the_goal_is_not_sent(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """A goal naming ${secrets.X} reaches the model as a name, never as the secret's value."""
    server.reply_json(VALID_PLAN)
    result = _plan(make_runtime, goal="log in with ${secrets.DB_PASSWORD}", secrets={"DB_PASSWORD": "hunter2-value"})
    assert result.ok, result.error
    sent = json.dumps(server.requests[0].body)
    assert "hunter2-value" not in sent
    assert "${secrets.<DB_PASSWORD>}" in sent


def test_planning_fits_a_modest_budget(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """The planner's worst case is bounded by its prompt's bytes, not the context window: ten cents suffice."""
    server.reply_json(VALID_PLAN)
    result = _plan(make_runtime, contract=ResourceContract(max_money="0.10"))
    assert result.ok, result.error
