"""Every failure of the API is an `ErrorInfo` JSON body with a status that fits, never a traceback.

| status | when | code |
|---|---|---|
| 400 | the body is not JSON | `INVALID_INPUT` |
| 401 | no key, a wrong key, a revoked key (the body never says which) | `PERMISSION_DENIED` |
| 403 | the key lacks the scope, or the run is another key's | `PERMISSION_DENIED` |
| 404 | no such run, skill, planner, budget or route | `NOT_FOUND`, `SKILL_NOT_FOUND` |
| 409 | an `Idempotency-Key` reused with another body; a run whose state refuses it | `INVALID_INPUT`, `UNAVAILABLE` |
| 413 | a body over the size limit | `INVALID_INPUT` |
| 422 | a body that fails its schema, an invalid plan or profile | `SCHEMA_VALIDATION_FAILED`, the plan's code |
| 429 | the key's request rate is used up (`Retry-After`) | `RATE_LIMITED` |
| 503 | draining for shutdown, the store unreachable (`Retry-After`) | `UNAVAILABLE` |
| 500 | a bug of AOS itself (logged with its traceback, answered with one line) | `SKILL_CRASHED` |

Exceptions the core raises at a developer are translated here, in one place.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from aos_core import ErrorCode, ErrorInfo, RunBusy, RunNotFinished, RunNotFound, StoreError, TraceError, make_error

__all__ = ["ApiError", "from_exception", "internal_error", "validation_error"]

log = logging.getLogger("aos.server")


class ApiError(Exception):
    """An answer other than success: a status, an `ErrorInfo`, and headers."""

    def __init__(
        self,
        status: int,
        code: ErrorCode | str,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        retry_after_s: float | None = None,
        headers: dict[str, str] | None = None,
        recovery: str | None = None,
    ) -> None:
        retry_ms = None if retry_after_s is None else max(1, math.ceil(retry_after_s * 1000))
        self.status = status
        self.error: ErrorInfo = make_error(code, message, details=details, retry_after_ms=retry_ms)
        if recovery is not None:  # the catalog's advice is about skill calls; this one is about the request
            self.error = self.error.model_copy(update={"recovery": recovery})
        self.headers = dict(headers or {})
        if retry_after_s is not None:
            self.headers["Retry-After"] = str(max(1, math.ceil(retry_after_s)))
        super().__init__(message)

    @classmethod
    def of(cls, status: int, error: ErrorInfo) -> ApiError:
        """An answer carrying an `ErrorInfo` made elsewhere (a refused plan)."""
        made = cls(status, error.code, error.message)
        made.error = error
        return made

    def body(self) -> dict[str, Any]:
        return self.error.model_dump(mode="json")


def from_exception(exc: BaseException) -> ApiError | None:
    """The answer for an exception the core raises at a developer; None for anything else."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, RunNotFound):
        return ApiError(
            404,
            ErrorCode.NOT_FOUND,
            "no such run",
            details={"parameter": "run_id"},
            recovery="GET /v1/runs lists them.",
        )
    if isinstance(exc, RunBusy):
        return ApiError(409, ErrorCode.UNAVAILABLE, str(exc), retry_after_s=5)
    if isinstance(exc, RunNotFinished):
        return ApiError(409, ErrorCode.UNAVAILABLE, f"{exc}; resume it first (POST /v1/runs/ID/resume)")
    if isinstance(exc, TraceError):
        return ApiError(409, ErrorCode.INVALID_INPUT, str(exc))
    if isinstance(exc, StoreError):
        log.error("store: %s", exc)
        return ApiError(503, ErrorCode.UNAVAILABLE, "the run store is unavailable; try again shortly", retry_after_s=5)
    return None


def validation_error(errors: list[dict[str, Any]]) -> ApiError:
    """A request that fails its schema: where and why, never the input itself."""
    shown = [
        {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in errors[:20]
    ]
    if any(e["type"] == "json_invalid" for e in shown):
        return ApiError(400, ErrorCode.INVALID_INPUT, "the request body is not valid JSON", details={"errors": shown})
    first = shown[0] if shown else {"loc": [], "msg": "invalid request"}
    where = ".".join(p for p in first["loc"] if p != "body") or "request"
    return ApiError(422, ErrorCode.SCHEMA_VALIDATION_FAILED, f"{where}: {first['msg']}", details={"errors": shown})


def internal_error(exc: BaseException) -> ApiError:
    """A bug of AOS itself: logged with its traceback, answered with one line."""
    log.error("internal error: %s", type(exc).__name__, exc_info=exc)
    return ApiError(
        500,
        ErrorCode.SKILL_CRASHED,
        f"AOS failed internally: {type(exc).__name__}; please report it",
        details={"internal": True, "exception_type": type(exc).__name__},
    )
