"""Checks at the edges of a call: parameters in, output out, and unknown skill names."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping
from typing import Any

import pydantic_core
from pydantic import ValidationError

from aos_core.budget.ratelimit import TokenBucket
from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.execution.prepared import PreparedSkill
from aos_core.execution.secrets import MissingSecret, SecretStore, has_secret_refs, resolve_secret_refs
from aos_core.plugins.contributions import SkillEntry

__all__ = [
    "cancelled_error",
    "check_output",
    "not_found",
    "rate_limited",
    "timeout_error",
    "validate_params",
    "validation_errors",
]


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as `{loc, msg, type}` with dotted paths and no input values (they may hold secrets)."""
    return [
        {"loc": ".".join(str(p) for p in error["loc"]), "msg": error["msg"], "type": error["type"]}
        for error in exc.errors(include_url=False, include_input=False)
    ]


def validate_params(
    prep: PreparedSkill, params: Any, secrets: SecretStore, resolved: Any = None
) -> tuple[Any, Any, ErrorInfo | None]:
    """(Input model, params with secrets resolved, error). `resolved` skips secret resolution:
    the run engine resolves secrets in a plan's literal parameters only, never in values that
    came from another step's output, so fetched text cannot smuggle in a `${secrets...}`."""
    name = prep.name
    if type(params) is not dict and not isinstance(params, Mapping):
        return (
            None,
            None,
            make_error(
                ErrorCode.SCHEMA_VALIDATION_FAILED,
                f"params for {name} must be a JSON object, got {type(params).__name__}",
                details={"errors": [{"loc": "", "msg": "expected an object", "type": "type_error"}]},
            ),
        )
    if resolved is None:
        try:
            resolved = resolve_secret_refs(params, secrets) if has_secret_refs(params) else params
        except MissingSecret as exc:
            return None, None, make_error(ErrorCode.INVALID_INPUT, f"{name}: {exc}", details={"secret": exc.name})
    try:
        return prep.validate_input(resolved), resolved, None
    except ValidationError as exc:
        errors = validation_errors(exc)
        shown = "; ".join(f"{e['loc'] or '(params)'}: {e['msg']}" for e in errors[:3])
        more = f" (+{len(errors) - 3} more)" if len(errors) > 3 else ""
        return (
            None,
            None,
            make_error(
                ErrorCode.SCHEMA_VALIDATION_FAILED,
                f"params do not fit {name}'s input schema: {shown}{more}",
                details={"errors": errors},
            ),
        )


def check_output(entry: SkillEntry, value: Any, max_output_bytes: int) -> tuple[Any, ErrorInfo | None]:
    name = entry.metadata.name
    try:
        model = entry.output_model.__pydantic_validator__.validate_python(value)
        raw = model.__pydantic_serializer__.to_json(model)
    except ValidationError as exc:
        errors = validation_errors(exc)
        shown = "; ".join(f"{e['loc'] or '(output)'}: {e['msg']}" for e in errors[:3])
        return None, make_error(
            ErrorCode.OUTPUT_VALIDATION_FAILED,
            f"{name} returned output that does not fit its output schema: {shown}",
            details={"errors": errors},
        )
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError, RecursionError) as exc:
        return None, make_error(
            ErrorCode.OUTPUT_VALIDATION_FAILED,
            f"{name} returned output that is not JSON-serialisable: {type(exc).__name__}",
        )
    if len(raw) > max_output_bytes:
        return None, make_error(
            ErrorCode.OUTPUT_VALIDATION_FAILED,
            f"{name} returned {len(raw)} bytes of output, over the limit of {max_output_bytes}",
            details={"size": len(raw), "limit": max_output_bytes},
        )
    return pydantic_core.from_json(raw), None


def not_found(name: str, known_names: Iterable[str]) -> ErrorInfo:
    known = sorted(known_names)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known skills: {', '.join(known) or 'none'}"
    return make_error(
        ErrorCode.SKILL_NOT_FOUND,
        f"no skill named {name!r}{hint}",
        details={"skill": name, "suggestions": close},
    )


def cancelled_error(name: str) -> ErrorInfo:
    return make_error(ErrorCode.CANCELLED, f"{name} was cancelled before it finished", details={"reason": "cancelled"})


def timeout_error(name: str, seconds: float, wall_bound: bool) -> ErrorInfo:
    ms = round(seconds * 1000)
    if wall_bound:
        return make_error(
            ErrorCode.BUDGET_EXCEEDED,
            f"{name} was stopped after {ms} ms when the run's wall-time budget ran out",
            details={"limit": "max_wall_time_ms"},
        )
    return make_error(ErrorCode.TIMEOUT, f"{name} did not finish within {ms} ms", details={"timeout_ms": ms})


def rate_limited(name: str, bucket: TokenBucket, wait_s: float) -> ErrorInfo:
    retry_after = max(1, round(wait_s * 1000))
    return make_error(
        ErrorCode.RATE_LIMITED,
        f"{name} is rate limited to {bucket.limit.per_second}/s; retry after {retry_after} ms",
        details={"rule": f"rate_limits.{name}", "skill": name},
        retry_after_ms=retry_after,
    )
