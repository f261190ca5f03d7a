"""Everything but runs: simulate, plan, skills (and one call of a skill), plugins, failures,
budgets, and keys (admin)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path

from aos_core import (
    ErrorCode,
    PlanResult,
    SimulationReport,
    SkillMetadata,
    StructuredOutcome,
    UnknownSkill,
    failure_catalog,
)
from aos_server.auth import Principal
from aos_server.bodies import JsonRoute
from aos_server.errors import ApiError
from aos_server.keys import ApiKey, KeyProblem, UnknownKey
from aos_server.models import (
    ERROR_RESPONSES,
    BudgetView,
    ExecuteRequest,
    FailuresView,
    KeyCreated,
    KeyRequest,
    KeysView,
    PlanRequestBody,
    PluginsView,
    SimulateRequest,
    SkillsView,
)
from aos_server.routing import principal, service_of
from aos_server.service import Service

__all__ = ["router"]

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, route_class=JsonRoute)

Caller = Annotated[Principal, Depends(principal)]
Svc = Annotated[Service, Depends(service_of)]
SkillName = Annotated[str, Path(min_length=1, max_length=200)]


@router.post("/simulate", response_model=SimulationReport, tags=["planning"], summary="Simulate a plan")
def simulate(body: SimulateRequest, caller: Caller, service: Svc) -> SimulationReport:
    """Problems, approvals, cost (low, expected, worst) and latency of a plan against the
    server's profile and contract; executes nothing."""
    caller.need("read")
    return service.runtime.simulate(body.plan)


@router.post("/plan", response_model=PlanResult, tags=["planning"], summary="Plan a goal")
def plan(body: PlanRequestBody, caller: Caller, service: Svc) -> PlanResult:
    """Ask a planner for a plan, validated against the skills; a planner's failure is in `error`.
    What the planner spends counts against the key's budget."""
    service.accepting()
    caller.need("run")
    result = service.runtime.plan(body.goal, body.planner, budgets=caller.budgets)
    error = result.error
    if error is not None and error.code == ErrorCode.SKILL_NOT_FOUND and result.plan is None and not result.problems:
        raise ApiError.of(404, error)  # no such planner
    return result


@router.get("/skills", response_model=SkillsView, tags=["skills"], summary="List skills")
def skills(caller: Caller, service: Svc) -> SkillsView:
    caller.need("read")
    return SkillsView(skills=list(service.runtime.skills.values()))


@router.get("/skills/{name}", response_model=SkillMetadata, tags=["skills"], summary="Describe a skill")
def skill(name: SkillName, caller: Caller, service: Svc) -> SkillMetadata:
    caller.need("read")
    try:
        return service.runtime.describe_skill(name)
    except UnknownSkill as exc:
        raise ApiError(404, ErrorCode.SKILL_NOT_FOUND, str(exc), details={"suggestions": exc.suggestions}) from None


@router.post(
    "/skills/{name}/execute", response_model=StructuredOutcome, tags=["skills"], summary="Execute one skill call"
)
def execute(
    name: SkillName,
    body: ExecuteRequest,
    caller: Caller,
    service: Svc,
    traceparent: Annotated[
        str | None,
        Header(
            max_length=255,
            description="W3C trace context: the call's span and the requests the skill makes continue this trace.",
        ),
    ] = None,
) -> StructuredOutcome:
    """One call, one outcome. The call's own failure (a timeout, a refused budget, bad
    parameters) is the outcome (`ok: false`, `error`), answered 200; it counts against the
    key's budget. Calls that need an approval are refused: submit a run to wait for one."""
    return service.execute(caller, name, body.params, traceparent)


@router.get("/plugins", response_model=PluginsView, tags=["catalog"], summary="List plugins")
def plugins(caller: Caller, service: Svc) -> PluginsView:
    caller.need("read")
    return PluginsView(plugins=service.runtime.plugins)


@router.get("/failures", response_model=FailuresView, tags=["catalog"], summary="The failure catalog")
def failures(caller: Caller) -> FailuresView:
    caller.need("read")
    return FailuresView(failures=list(failure_catalog()))


@router.get("/budgets/{contract}", response_model=BudgetView, tags=["catalog"], summary="A shared budget")
def budget(contract: Annotated[str, Path(min_length=1, max_length=128)], caller: Caller, service: Svc) -> BudgetView:
    """A shared contract (a key's `key:NAME`, or one runs named): limits, spent, held, remaining,
    as every worker sees it."""
    caller.need("read")
    return service.budget(contract)


@router.get("/keys", response_model=KeysView, tags=["keys"], summary="List keys")
def list_keys(caller: Caller, service: Svc) -> KeysView:
    caller.need("admin")
    return KeysView(keys=service.keys.all())


@router.post("/keys", status_code=201, response_model=KeyCreated, tags=["keys"], summary="Create a key")
def create_key(body: KeyRequest, caller: Caller, service: Svc) -> KeyCreated:
    """The key is in `secret`, shown this once; only its hash is kept."""
    caller.need("admin")
    try:
        key, secret = service.keys.create(body.name, body.scope, body.contract, body.rate_limit)
    except KeyProblem as exc:
        raise ApiError(409, ErrorCode.INVALID_INPUT, str(exc)) from None
    return KeyCreated(key=key, secret=secret)


@router.post("/keys/{name}/revoke", response_model=ApiKey, tags=["keys"], summary="Revoke a key")
def revoke_key(name: Annotated[str, Path(min_length=1, max_length=64)], caller: Caller, service: Svc) -> ApiKey:
    """Its next request is refused (401)."""
    caller.need("admin")
    try:
        return service.keys.revoke(name)
    except UnknownKey as exc:
        raise ApiError(404, ErrorCode.NOT_FOUND, str(exc)) from None
    except KeyProblem as exc:
        raise ApiError(409, ErrorCode.INVALID_INPUT, str(exc)) from None
