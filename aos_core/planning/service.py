"""Asking a planner for a plan, and checking any plan before it runs."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.plan import Plan, PlanProblem, PlanResult
from aos_core.contracts.protocols import PlanRequest, SkillError
from aos_core.execution.checks import validation_errors
from aos_core.planning.validation import validate_plan
from aos_core.plugins.contributions import SkillEntry
from aos_core.plugins.loader import Ranked

__all__ = ["SHOWN_PROBLEMS", "ask_planner", "parse_plan", "plan_error", "plan_result", "problems_details"]


def parse_plan(
    plan: Plan | Mapping[str, Any], skills: Mapping[str, SkillEntry]
) -> tuple[Plan | None, list[PlanProblem]]:
    """The plan as a `Plan` (None if it does not parse) and every problem found in it."""
    try:
        parsed = plan if isinstance(plan, Plan) else Plan.model_validate(plan)
    except ValidationError as exc:
        return None, [
            PlanProblem(
                code=ErrorCode.SCHEMA_VALIDATION_FAILED,
                message=f"{e['loc'] or 'plan'}: {e['msg']}",
                field=e["loc"] or None,
            )
            for e in validation_errors(exc)
        ]
    return parsed, validate_plan(parsed, skills)


SHOWN_PROBLEMS = 20  # the problems an error's details carry (`problems_total` counts them all)


def problems_details(problems: list[PlanProblem]) -> dict[str, Any]:
    """An error's details for plan problems: the first `SHOWN_PROBLEMS` (`problems`) and how many
    there are (`problems_total`). Every problem of a 100,000-step plan, dumped, was 20 MiB kept in
    a run's result; `check_plan` and `simulate` list them all."""
    return {
        "problems": [p.model_dump(mode="json") for p in problems[:SHOWN_PROBLEMS]],
        "problems_total": len(problems),
    }


def plan_error(code: ErrorCode, subject: str, problems: list[PlanProblem]) -> ErrorInfo:
    """One error for a list of plan problems: the first in the message, the first few and how
    many there are in the details (`problems_details`)."""
    first = problems[0]
    where = f"step {first.step_id}: " if first.step_id else ""
    more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
    return make_error(code, f"{subject} is invalid: {where}{first.message}{more}", details=problems_details(problems))


def plan_result(planner: str, plan: Plan | None, problems: list[PlanProblem]) -> PlanResult:
    """A `PlanResult`: ok with the plan, or `OUTPUT_VALIDATION_FAILED` listing the problems."""
    if not problems and plan is not None:
        return PlanResult(ok=True, planner=planner, plan=plan)
    error = plan_error(ErrorCode.OUTPUT_VALIDATION_FAILED, f"the plan from {planner!r}", problems)
    return PlanResult(ok=False, planner=planner, plan=plan, error=error, problems=tuple(problems))


async def ask_planner(ranked: Ranked, request: PlanRequest, ctx: Any, skills: Mapping[str, SkillEntry]) -> PlanResult:
    """Run a planner and validate its plan. Never raises: failures are in the result."""
    name = ranked.name
    try:
        produced = ranked.obj.plan(request, ctx)
        if inspect.isawaitable(produced):
            produced = await produced
    except SkillError as exc:
        return PlanResult(ok=False, planner=name, error=make_error(exc.code, exc.message, details=exc.details))
    except Exception as exc:  # noqa: BLE001 - a planner's crash is a result, never an exception
        error = make_error(
            ErrorCode.SKILL_CRASHED,
            f"planner {name!r} crashed: {type(exc).__name__}: {exc}",
            details={"exception_type": type(exc).__name__},
        )
        return PlanResult(ok=False, planner=name, error=error)
    parsed, problems = parse_plan(produced, skills)
    return plan_result(name, parsed, problems)
