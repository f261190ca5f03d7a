"""The `claude` planner: asks Claude, through `llm_invoke`, for a plan that reaches a goal.

The call goes through the runtime (`ctx.execute`), so policy, budget, retries and redaction all
apply to it. The answer must match the `Plan` JSON Schema (checked by `llm_invoke`); the core
then validates the plan against the skills' schemas (`Runtime.check_plan`), so an invalid plan
comes back as a `VALIDATION` result with the problems, never as an exception.

Configuration (`planners.claude`): `model` (default: `llm_invoke`'s), `max_tokens` (4096),
`temperature` (not sent unless set: models after Opus 4.6 refuse it).
"""

from __future__ import annotations

import json
import re
from typing import Any

from aos_core import ErrorCode, Plan, PlannerContext, PlanRequest, SkillError, SkillMetadata
from aos_skill_llm.models import DEFAULT_MODEL

__all__ = ["ClaudePlanner"]

_SECRET_REF = re.compile(r"\$\{secrets\.([A-Za-z_][A-Za-z0-9_]*)\}")

SYSTEM = """You are the planner of AOS, a runtime that executes plans of skill calls for machine agents.
Given a goal, the skills available and a resource contract, answer with one plan as a JSON object:
{"version": 1, "goal": GOAL, "steps": [{"id": ID, "skill": NAME, "params": {...}, "depends_on": [IDS]}]}
Rules:
- Use only the skills listed; each step's params must validate against that skill's input_schema.
- Step ids match ^[A-Za-z_][A-Za-z0-9_-]{0,63}$ and are unique.
- A parameter may take an earlier step's output with "${steps.ID.output.FIELD}"; a parameter that is
  exactly one reference keeps the value's type, and the reference makes the step depend on ID.
- Stay within the contract: the fewest, cheapest steps that reach the goal; prefer skills without side effects.
- Never put secret values in params; refer to a secret as ${secrets.<NAME>} written without the angle brackets."""


class ClaudePlanner:
    """Plans with a Claude model through the `llm_invoke` skill."""

    name = "claude"
    description = "Asks Claude (through llm_invoke) for a plan using the offered skills, within the contract."

    async def plan(self, request: PlanRequest, ctx: PlannerContext) -> Plan | dict[str, Any]:
        config = ctx.config
        params: dict[str, Any] = {
            "model": config.get("model", DEFAULT_MODEL),
            "system": SYSTEM,
            "prompt": _literal(planning_prompt(request)),
            "max_tokens": int(config.get("max_tokens", 4096)),
            "output_schema": _literal(Plan.model_json_schema()),
        }
        if config.get("temperature") is not None:  # newer models refuse it, so only when asked
            params["temperature"] = float(config["temperature"])
        outcome = await ctx.execute("llm_invoke", params)
        if not outcome.ok or outcome.error is not None:
            error = outcome.error
            code = error.code if error is not None else ErrorCode.SKILL_CRASHED
            message = error.message if error is not None else "llm_invoke failed without an error"
            details = dict(error.details) if error is not None else {}
            raise SkillError(code, f"the claude planner could not get a plan: {message}", details=details)
        answer = outcome.output.get("json")
        if not isinstance(answer, dict):
            raise SkillError(ErrorCode.OUTPUT_VALIDATION_FAILED, "the claude planner's answer is not a JSON object")
        answer.setdefault("goal", request.goal)
        return answer


def planning_prompt(request: PlanRequest) -> str:
    """The user message: the goal, each offered skill's metadata, and the contract."""
    skills = [_describe(skill) for skill in request.skills]
    contract = request.contract.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    return (
        f"Goal: {request.goal}\n\n"
        f"Skills available (JSON):\n{json.dumps(skills, indent=1, sort_keys=True)}\n\n"
        f"Resource contract (JSON; unset limits are unlimited):\n{json.dumps(contract, sort_keys=True)}\n\n"
        "Answer with the plan as one JSON object."
    )


def _literal(value: Any) -> Any:
    """`value` with every `${secrets.NAME}` written `${secrets.<NAME>}`.

    The runtime resolves secret references in any parameter; text that only mentions one (the
    goal, a schema's description) must not send the secret's value to the model.
    """
    if isinstance(value, str):
        return _SECRET_REF.sub(r"${secrets.<\1>}", value)
    if isinstance(value, dict):
        return {key: _literal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_literal(item) for item in value]
    return value


def _describe(skill: SkillMetadata) -> dict[str, Any]:
    return {
        "name": skill.name,
        "description": skill.description,
        "side_effects": skill.side_effects.value,
        "network": skill.network,
        "idempotent": skill.idempotent,
        "input_schema": skill.input_schema or {},
    }
