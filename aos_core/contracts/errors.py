"""Error vocabulary: categories, codes and the `ErrorInfo` value every failure is reported as.

The catalog (`failure_catalog.json`) is the source of truth for what each code means; the
`ErrorCode` enum below names the same codes so that code can refer to them, and a test keeps
the two equal.
"""

from __future__ import annotations

import json
from enum import StrEnum
from functools import cache
from importlib.resources import files
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "CatalogEntry",
    "ErrorCategory",
    "ErrorCode",
    "ErrorInfo",
    "catalog_entry",
    "failure_catalog",
    "make_error",
]


class ErrorCategory(StrEnum):
    """What kind of failure this is, and so what a caller should do about it."""

    TRANSIENT = "TRANSIENT"  # retry may work
    PERMANENT = "PERMANENT"  # do not retry
    RESOURCE = "RESOURCE"  # budget or rate limit
    PERMISSION = "PERMISSION"  # not allowed
    VALIDATION = "VALIDATION"  # bad input or output


class ErrorCode(StrEnum):
    """Stable failure codes; what each means lives in the failure catalog."""

    TIMEOUT = "TIMEOUT"
    DNS_FAILURE = "DNS_FAILURE"
    CONNECTION_FAILED = "CONNECTION_FAILED"
    HTTP_5XX = "HTTP_5XX"
    UNAVAILABLE = "UNAVAILABLE"
    RATE_LIMITED = "RATE_LIMITED"
    BUDGET_EXCEEDED = "BUDGET_EXCEEDED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    POLICY_VIOLATION = "POLICY_VIOLATION"
    INVALID_INPUT = "INVALID_INPUT"
    SCHEMA_VALIDATION_FAILED = "SCHEMA_VALIDATION_FAILED"
    OUTPUT_VALIDATION_FAILED = "OUTPUT_VALIDATION_FAILED"
    HTTP_4XX = "HTTP_4XX"
    NOT_FOUND = "NOT_FOUND"
    SKILL_NOT_FOUND = "SKILL_NOT_FOUND"
    SKILL_CRASHED = "SKILL_CRASHED"
    TOOL_ERROR = "TOOL_ERROR"
    NON_DETERMINISTIC = "NON_DETERMINISTIC"
    CANCELLED = "CANCELLED"


class CatalogEntry(BaseModel):
    """One row of the failure catalog."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ErrorCode
    category: ErrorCategory
    retryable: bool
    description: str
    recovery: str


@cache
def failure_catalog() -> tuple[CatalogEntry, ...]:
    """The failure catalog, in its file's order."""
    raw = json.loads(files("aos_core.contracts").joinpath("failure_catalog.json").read_text("utf-8"))
    return tuple(CatalogEntry.model_validate(entry) for entry in raw["entries"])


@cache
def _by_code() -> dict[ErrorCode, CatalogEntry]:
    return {entry.code: entry for entry in failure_catalog()}


def catalog_entry(code: ErrorCode | str) -> CatalogEntry:
    """The catalog row of `code`; `KeyError` for a code the catalog does not know."""
    return _by_code()[ErrorCode(code)]


class ErrorInfo(BaseModel):
    """A failure as data: a stable code, its category, and a line a person can act on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ErrorCode
    category: ErrorCategory
    retryable: bool
    message: str = Field(description="One line a person can act on; never a traceback.")
    details: dict[str, Any] = Field(default_factory=dict)
    recovery: str = ""
    retry_after_ms: int | None = Field(
        default=None, description="How long to wait before retrying, when the source said so."
    )


def make_error(
    code: ErrorCode | str,
    message: str,
    *,
    details: dict[str, Any] | None = None,
    retry_after_ms: int | None = None,
) -> ErrorInfo:
    """Build an `ErrorInfo` whose category, retryability and recovery come from the catalog."""
    entry = catalog_entry(code)
    return ErrorInfo.model_construct(
        code=entry.code,
        category=entry.category,
        retryable=entry.retryable,
        message=_one_line(message),
        details=details or {},
        recovery=entry.recovery,
        retry_after_ms=retry_after_ms,
    )


def _one_line(text: str, limit: int = 500) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
