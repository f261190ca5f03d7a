"""anthropic's exceptions translated to AOS failure codes, in one place.

    anthropic.APIError
    ├── APIStatusError (by HTTP status)
    │     401, 403 ............................ PERMISSION_DENIED
    │     429 ................................. RATE_LIMITED (retry_after_ms from the headers)
    │     400 ................................. INVALID_INPUT
    │     other 4xx ........................... HTTP_4XX
    │     5xx, 529 overloaded ................. HTTP_5XX (retryable)
    ├── APITimeoutError ....................... TIMEOUT
    ├── APIConnectionError .................... CONNECTION_FAILED
    └── APIResponseValidationError ............ OUTPUT_VALIDATION_FAILED

Messages are written here from the status, the error type and the API's own message; the
SDK's text (which quotes the whole body) is not reused. The key is never part of either.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Any

from aos_core import ErrorCode, SkillError

__all__ = ["retry_after_ms", "translate_errors"]


@contextmanager
def translate_errors(now: Callable[[], datetime], timeout_s: float) -> Iterator[None]:
    """Re-raise anthropic errors raised inside as `SkillError`s with the matching code.

    `now` (the run clock) is read only to turn an HTTP-date Retry-After into a wait.
    """
    import anthropic

    try:
        yield
    except anthropic.APIStatusError as exc:
        raise _status_error(exc, now) from exc
    except anthropic.APITimeoutError as exc:
        raise SkillError(
            ErrorCode.TIMEOUT,
            f"the Anthropic API did not answer within {round(timeout_s * 1000)} ms",
            details={"timeout_ms": round(timeout_s * 1000)},
        ) from exc
    except anthropic.APIConnectionError as exc:
        cause = exc.__cause__
        reason = f"{type(cause).__name__}: {cause}" if cause is not None else exc.message
        origin = f"{exc.request.url.scheme}://{exc.request.url.netloc.decode()}"
        raise SkillError(
            ErrorCode.CONNECTION_FAILED,
            f"could not reach the Anthropic API at {origin} ({reason})",
            details={"url": str(exc.request.url)},
        ) from exc
    except anthropic.APIResponseValidationError as exc:
        raise SkillError(
            ErrorCode.OUTPUT_VALIDATION_FAILED,
            f"the Anthropic API answered {exc.status_code} with a body the SDK could not read",
            details={"status": exc.status_code},
        ) from exc


def _status_error(exc: Any, now: Callable[[], datetime]) -> SkillError:
    status: int = exc.status_code
    error = exc.body.get("error") if isinstance(exc.body, dict) else None
    error = error if isinstance(error, dict) else {}
    kind = str(error.get("type") or "error")
    said = str(error.get("message") or exc.response.reason_phrase or "")
    details: dict[str, Any] = {"status": status, "type": kind}
    request_id = exc.response.headers.get("request-id")
    if request_id:
        details["request_id"] = request_id
    wait = retry_after_ms(exc.response.headers, now)
    if wait is not None:
        details["retry_after_ms"] = wait
    prefix = f"the Anthropic API answered {status} {kind}"
    if status in (401, 403):
        how = "check the key in skills.llm_invoke.api_key or ANTHROPIC_API_KEY"
        return SkillError(ErrorCode.PERMISSION_DENIED, f"{prefix}: {said}; {how}", details=details)
    if status == 429:
        after = f"; retry after {wait} ms" if wait is not None else ""
        return SkillError(ErrorCode.RATE_LIMITED, f"{prefix}: {said}{after}", details=details, retry_after_ms=wait)
    if status >= 500:
        return SkillError(ErrorCode.HTTP_5XX, f"{prefix}: {said}", details=details, retry_after_ms=wait)
    if status == 400:
        return SkillError(ErrorCode.INVALID_INPUT, f"{prefix}: {said}", details=details)
    return SkillError(ErrorCode.HTTP_4XX, f"{prefix}: {said}", details=details)


def retry_after_ms(headers: Any, now: Callable[[], datetime]) -> int | None:
    """The server's wait in ms: `retry-after-ms`, else `retry-after` (seconds or an HTTP date)."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            value = float(raw_ms)
        except ValueError:
            value = math.nan
        if math.isfinite(value) and value >= 0:
            return math.ceil(value)
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        seconds = (when - now()).total_seconds() if when.tzinfo else math.nan
    if not math.isfinite(seconds):
        return None
    return max(0, math.ceil(seconds * 1000))
