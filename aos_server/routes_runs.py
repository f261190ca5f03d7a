"""`/v1/runs`: submit, list, show, trace, events, cancel, resume, replay, approvals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Response
from fastapi.responses import StreamingResponse

from aos_core import ReplayResult
from aos_server.auth import Principal
from aos_server.bodies import JsonRoute
from aos_server.events import event_stream
from aos_server.models import (
    ERROR_RESPONSES,
    ApprovalView,
    CancelView,
    DecisionRequest,
    ResumeRequest,
    RunAccepted,
    RunList,
    RunStatus,
    RunView,
    SubmitRequest,
)
from aos_server.routing import principal, service_of
from aos_server.service import Service

__all__ = ["router"]

router = APIRouter(prefix="/v1/runs", tags=["runs"], responses=ERROR_RESPONSES, route_class=JsonRoute)

RunId = Annotated[str, Path(min_length=1, max_length=128, description="The run's full id.")]
StepId = Annotated[str, Path(min_length=1, max_length=128)]
MAX_EVENT = 2**63 - 1  # event numbers are SQL integers: a larger one broke the stream after its 200
Caller = Annotated[Principal, Depends(principal)]
Svc = Annotated[Service, Depends(service_of)]


@router.post("", status_code=202, response_model=RunAccepted, summary="Submit a run")
def submit(
    body: Annotated[SubmitRequest, Body(description="A plan, or a goal to plan now; options for the run.")],
    response: Response,
    caller: Caller,
    service: Svc,
    idempotency_key: Annotated[
        str | None,
        Header(min_length=1, max_length=255, description="The same key and body give the same run; another body, 409."),
    ] = None,
    traceparent: Annotated[
        str | None,
        Header(
            max_length=255,
            description="W3C trace context: the run's spans and the requests its skills make continue this trace.",
        ),
    ] = None,
) -> RunAccepted:
    """Queue a run of a plan (or of a goal, planned now); a worker runs it. Steps needing an
    approval pause the run (`waiting_approval`) until it is decided."""
    accepted, new = service.submit(caller, body, idempotency_key, traceparent)
    if not new:
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/v1/runs/{accepted.run_id}"
    return accepted


@router.get("", response_model=RunList, summary="List runs")
def list_runs(
    caller: Caller,
    service: Svc,
    status: RunStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> RunList:
    """Runs in the store (those started with `aos run` too), newest first."""
    caller.need("read")
    runs = service.runtime.store.list_runs(limit + 1, offset, status)
    more = len(runs) > limit
    return RunList(runs=runs[:limit], limit=limit, offset=offset, next_offset=offset + limit if more else None)


@router.get("/{run_id}", response_model=RunView, summary="Show a run")
def show(run_id: RunId, caller: Caller, service: Svc) -> RunView:
    """Status, every step (with its outcome once committed), approvals, and what was spent."""
    caller.need("read")
    return service.view(run_id)


@router.get(
    "/{run_id}/trace",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "The canonical trace, JSON Lines."}},
    summary="Export a run's trace",
)
def trace(run_id: RunId, caller: Caller, service: Svc) -> StreamingResponse:
    """The canonical trace (`aos show RUN --trace`): replay it anywhere with `aos replay FILE`."""
    caller.need("read")
    service.stored(run_id)
    text = service.runtime.trace(run_id).text()
    return StreamingResponse(iter(text.splitlines(keepends=True)), media_type="application/x-ndjson")


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "Server-sent events."}},
    summary="Follow a run's events",
)
async def events(
    run_id: RunId,
    request: Request,
    caller: Caller,
    service: Svc,
    last_event_id: Annotated[
        int | None, Header(ge=0, le=MAX_EVENT, description="Resume after this event number.")
    ] = None,
    after: Annotated[int, Query(ge=0, le=MAX_EVENT, description="Like Last-Event-ID.")] = 0,
    follow: Annotated[bool, Query(description="false: send the events stored so far, then end.")] = True,
) -> StreamingResponse:
    """Server-sent events: run_started, step_started, attempt, step_committed, approval_needed,
    run_ended. Reconnect with `Last-Event-ID` to miss nothing."""
    from starlette.concurrency import run_in_threadpool

    caller.need("read")
    await run_in_threadpool(service.stored, run_id)
    stream = event_stream(
        lambda seq: service.runtime.events(run_id, after=seq),
        lambda: service.stored(run_id).status,
        after=max(after, last_event_id or 0),
        stop=lambda: service.closing or not follow,
        disconnected=request.is_disconnected,
        allowed=lambda: service.keys.live(caller.key.key_id),
    )
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


@router.post("/{run_id}/cancel", response_model=CancelView, summary="Cancel a run")
def cancel(run_id: RunId, caller: Caller, service: Svc) -> CancelView:
    """A run nobody executes is cancelled at once; a running one stops within about a second.
    A cancelled run can be resumed."""
    return service.cancel(caller, run_id)


@router.post("/{run_id}/resume", status_code=202, response_model=RunAccepted, summary="Resume a run")
def resume(
    run_id: RunId, caller: Caller, service: Svc, body: Annotated[ResumeRequest | None, Body()] = None
) -> RunAccepted:
    """Queue a stopped run again: committed steps are never redone; a step that was in flight is
    repeated when that is safe, else reported (`not_repeated`) until `repeat_in_flight` or
    `abandon_in_flight` names it."""
    return service.resume(caller, run_id, body or ResumeRequest())


@router.post("/{run_id}/replay", response_model=ReplayResult, summary="Replay a run")
def replay(run_id: RunId, caller: Caller, service: Svc) -> ReplayResult:
    """Replay the run from its trace and say whether it matched byte for byte."""
    return service.replay(caller, run_id)


@router.post(
    "/{run_id}/approvals/{step_id}", status_code=202, response_model=ApprovalView, summary="Approve or deny a step"
)
def decide(run_id: RunId, step_id: StepId, body: DecisionRequest, caller: Caller, service: Svc) -> ApprovalView:
    """Decide a step the run waits for; the run is queued again and goes on (a denied step fails
    with PERMISSION_DENIED and what depends on it is skipped)."""
    return service.decide(caller, run_id, step_id, body.approve)
