"""The FastAPI application: the gate (key, body size), the routes, and errors as `ErrorInfo`.

`create_app(service)` builds it around a `Service`; `aos serve` runs it on uvicorn beside the
worker pool, tests run it in-process (schemathesis) or as a subprocess. `create_app(None)` is
enough to generate the OpenAPI document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aos_core import ErrorCode, ErrorInfo, __version__
from aos_server.errors import ApiError, from_exception, internal_error, validation_error
from aos_server.models import Readiness
from aos_server.routes_catalog import router as catalog_router
from aos_server.routes_runs import router as runs_router
from aos_server.service import Service

__all__ = ["Gate", "create_app", "error_response"]

DESCRIPTION = """AOS as a service: submit runs that workers execute durably, follow their events,
decide the approvals they wait for, replay them; call skills, plan and simulate.

Send a key as `Authorization: Bearer KEY` or `X-API-Key: KEY` (`aos keys create NAME`).
Every failure is an `ErrorInfo` object (`code`, `category`, `retryable`, `message`, `details`,
`recovery`)."""


def error_response(error: ApiError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers)


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        ErrorCode.INVALID_INPUT,
        f"the body is over {limit} bytes",
        details={"limit": limit},
        recovery="Send a smaller body (the server's limit is in details.limit).",
    )


def _limited(receive: Receive, limit: int) -> Receive:
    """`receive` that counts the body as it arrives and stops past `limit` with a 413, whether or
    not a `Content-Length` announced it (a chunked body announces nothing)."""
    seen = 0

    async def receive_limited() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise StarletteHTTPException(413, detail=f"the body is over {limit} bytes")
        return message

    return receive_limited


class Gate:
    """Before any route of /v1: refuse a body over the limit (413, by its `Content-Length`, and
    again as it arrives), authenticate the key (401, 429) and hand the caller to the route.
    Health checks pass without a key."""

    def __init__(self, app: ASGIApp, service: Service | None) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        service = self.service
        if scope["type"] != "http" or service is None or not str(scope["path"]).startswith("/v1"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        limit = service.settings.max_body_bytes
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            await error_response(_too_large(limit))(scope, receive, send)
            return
        try:
            caller = await run_in_threadpool(service.authenticate, headers)
        except Exception as exc:  # noqa: BLE001 - every failure is an ErrorInfo answer
            await error_response(from_exception(exc) or internal_error(exc))(scope, receive, send)
            return
        scope.setdefault("state", {})["principal"] = caller
        await self.app(scope, _limited(receive, limit), send)


def create_app(service: Service | None) -> FastAPI:
    app = FastAPI(
        title="AOS",
        version=__version__,
        description=DESCRIPTION,
        docs_url="/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.service = service
    app.add_middleware(Gate, service=service)
    app.include_router(runs_router)
    app.include_router(catalog_router)

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(validation_error(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 413 and service is not None:
            return error_response(_too_large(service.settings.max_body_bytes))
        code = ErrorCode.NOT_FOUND if exc.status_code == 404 else ErrorCode.INVALID_INPUT
        message = "no such route; see /openapi.json" if exc.status_code == 404 else str(exc.detail)
        recovery = "Call one of the routes /openapi.json lists." if exc.status_code == 404 else "Fix the request."
        return error_response(
            ApiError(exc.status_code, code, message, headers=dict(exc.headers or {}), recovery=recovery)
        )

    @app.exception_handler(Exception)
    async def _other(request: Request, exc: Exception) -> JSONResponse:
        return error_response(from_exception(exc) or internal_error(exc))

    @app.get("/healthz", tags=["health"], summary="Alive")
    def healthz() -> dict[str, Any]:
        """The process answers."""
        return {"ok": True}

    @app.get(
        "/readyz",
        tags=["health"],
        summary="Ready",
        response_model=Readiness,
        responses={503: {"model": ErrorInfo, "description": "Draining, the store unreachable, or workers not up."}},
    )
    def readyz() -> Any:
        """The store answers, every worker is up, and the server is not draining."""
        if service is None:
            return error_response(ApiError(503, ErrorCode.UNAVAILABLE, "no service"))
        state = service.readiness()
        if not state["ready"]:
            why = "draining" if state["draining"] else "store unreachable" if not state["store"] else "workers starting"
            return error_response(
                ApiError(503, ErrorCode.UNAVAILABLE, f"not ready: {why}", details=state, retry_after_s=1)
            )
        return Readiness.model_validate(state)

    @app.get(
        "/metrics",
        tags=["health"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {}}, "description": "The exposition, summed over every worker."},
            404: {"model": ErrorInfo, "description": "Metrics are off (`aos serve --no-metrics`)."},
        },
    )
    async def metrics(request: Request) -> Response:
        """Every AOS metric (docs/metrics.md) of the server and its workers, and the runs in the store
        by status, read now. No key is asked, as for the health checks: bind the server, or route
        `/metrics`, where only your Prometheus reaches it. Labels carry no run ids, URLs or secrets."""
        if service is None or not service.settings.metrics:
            return error_response(
                ApiError(404, ErrorCode.NOT_FOUND, "metrics are off; start the server without --no-metrics")
            )
        from aos_core import render_metrics

        await run_in_threadpool(service.watch_budgets)
        body, content_type = await run_in_threadpool(
            render_metrics, request.headers.get("accept"), service.runtime.store
        )
        return Response(body, media_type=content_type)

    return app
