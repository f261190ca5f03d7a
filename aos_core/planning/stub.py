"""The `stub` planner: deterministic rules, no model, for tests and offline use.

Rules, in order, using only the skills offered:
- every http(s) URL in the goal becomes an `http_call` GET step (`fetch`, `fetch_2`, ...);
- a JMESPath expression in backticks becomes a `json_transform` step over the first fetch's body;
- a goal that asks to summarise, explain, describe, answer or write gets an `llm_invoke` step
  whose prompt is the goal plus the latest data.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from aos_core.hookspecs import Register, hookimpl

if TYPE_CHECKING:  # imported when a plan is asked for: registering the planner stays cheap
    from aos_core.contracts.plan import Plan
    from aos_core.contracts.protocols import PlannerContext, PlanRequest

__all__ = ["StubPlanner", "aos_register_planners"]

_URL = re.compile(r"https?://[^\s'\"<>`]+")
_EXPRESSION = re.compile(r"`([^`]+)`")
_LANGUAGE = re.compile(r"\b(summar\w*|explain\w*|describe\w*|answer\w*|write\w*|tell\w*|ask\w*)\b", re.I)


class StubPlanner:
    """Rule-based planner: the same goal always gives the same plan."""

    name = "stub"
    description = "Deterministic rules: URLs -> http_call, `expr` -> json_transform, 'summarise' -> llm_invoke."

    def plan(self, request: PlanRequest, ctx: PlannerContext) -> Plan:
        from aos_core.contracts.errors import ErrorCode
        from aos_core.contracts.plan import Plan, PlanStep
        from aos_core.contracts.protocols import SkillError

        available = {skill.name for skill in request.skills}
        goal = request.goal.strip()
        steps: list[PlanStep] = []
        data_ref: str | None = None
        if "http_call" in available:
            for index, url in enumerate(_URL.findall(goal)):
                step_id = "fetch" if index == 0 else f"fetch_{index + 1}"
                steps.append(
                    PlanStep(id=step_id, skill="http_call", params={"method": "GET", "url": url.rstrip(".,;)")})
                )
                data_ref = data_ref or "${steps.fetch.output.body}"
        expression = _EXPRESSION.search(goal)
        if expression and "json_transform" in available and data_ref is not None:
            steps.append(
                PlanStep(
                    id="transform",
                    skill="json_transform",
                    params={"expression": expression.group(1), "data": data_ref},
                )
            )
            data_ref = "${steps.transform.output.result}"
        if "llm_invoke" in available and (_LANGUAGE.search(goal) or not steps):
            prompt = goal if data_ref is None else f"{goal}\n\nData:\n{data_ref}"
            steps.append(PlanStep(id="answer", skill="llm_invoke", params={"prompt": prompt, "max_tokens": 512}))
        if not steps:
            raise SkillError(
                ErrorCode.INVALID_INPUT,
                f"the stub planner has no rule for {goal!r} with skills {sorted(available)}; "
                "include a URL, a `jmespath` expression or ask to summarise",
            )
        return Plan(goal=goal, steps=tuple(steps))


@hookimpl(trylast=True)
def aos_register_planners(register: Register) -> None:
    register(StubPlanner(), priority=-1000)
