"""The `json_transform` skill: JMESPath over JSON, pure and deterministic.

jmespath is imported inside the functions that use it, so loading the plugin stays cheap.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from aos_core import ErrorCode, SideEffect, SkillContext, SkillError, SkillMetadata
from aos_skill_json.models import JsonTransformInput, JsonTransformOutput

__all__ = ["JsonTransform", "compile_expression"]


class JsonTransform:
    """Apply a JMESPath expression to JSON data: pure, deterministic, no side effects."""

    metadata = SkillMetadata(
        name="json_transform",
        version="0.1.0",
        description="Select and reshape JSON data with a JMESPath expression.",
        side_effects=SideEffect.NONE,
        network=False,
        idempotent=True,
        deterministic=True,
        blocking=False,
        timeout_ms=5_000,
        failure_codes=(ErrorCode.INVALID_INPUT, ErrorCode.OUTPUT_VALIDATION_FAILED),
        expected_latency_ms=0.1,
    )
    Input = JsonTransformInput
    Output = JsonTransformOutput

    def execute(self, params: JsonTransformInput, ctx: SkillContext) -> JsonTransformOutput:
        import jmespath.exceptions

        parsed = compile_expression(params.expression)
        try:
            result = parsed.search(params.data)
        except (jmespath.exceptions.JMESPathError, TypeError) as exc:
            # jmespath itself raises TypeError where a comparison meets mixed types: `[?@ > `1`]` on [""]
            raise _runtime_error(params.expression, exc) from None
        where = _non_finite(result, "result")
        if where is not None:
            raise SkillError(
                ErrorCode.OUTPUT_VALIDATION_FAILED,
                f"JMESPath expression {params.expression!r} produced a number JSON cannot hold (inf or nan) at {where}",
                details={"expression": params.expression, "path": where},
            )
        return JsonTransformOutput.model_construct(result=result)


def compile_expression(expression: str) -> Any:
    """The compiled expression; `SkillError(INVALID_INPUT)` giving the position of a syntax error."""
    import jmespath.exceptions

    try:
        return _compile(expression)
    except jmespath.exceptions.ParseError as exc:
        raise _parse_error(expression, exc) from None


@lru_cache(maxsize=256)
def _compile(expression: str) -> Any:
    import jmespath

    return jmespath.compile(expression)


def _parse_error(expression: str, exc: Any) -> SkillError:
    import jmespath.exceptions

    if isinstance(exc, jmespath.exceptions.LexerError):
        position, reason, token = exc.lexer_position, exc.message, exc.lexer_value
    elif isinstance(exc, jmespath.exceptions.IncompleteExpressionError):
        position, reason, token = len(expression), "the expression ends too early", None
    else:
        position, reason, token = exc.lex_position, exc.msg, exc.token_value
    shown = "" if token in (None, "") else f" at {str(token)[:40]!r}"
    return SkillError(
        ErrorCode.INVALID_INPUT,
        f"invalid JMESPath expression: {reason}{shown}, column {position} of {expression[:200]!r}",
        details={
            "parameter": "expression",
            "expression": expression,
            "position": position,
            "token": None if token is None else str(token),
            "token_type": getattr(exc, "token_type", None),
            "reason": str(reason),
        },
    )


def _runtime_error(expression: str, exc: Exception) -> SkillError:
    """Errors that only show when the expression meets the data: wrong arity, types, unknown functions."""
    return SkillError(
        ErrorCode.INVALID_INPUT,
        f"JMESPath expression {expression[:200]!r} cannot be applied to this data: {exc}",
        details={
            "parameter": "expression",
            "expression": expression,
            "error": type(exc).__name__,
            "function": getattr(exc, "function_name", None),
        },
    )


def _non_finite(value: Any, path: str) -> str | None:
    """The path of the first inf/nan in `value` (JMESPath's sum/avg can overflow), else None."""
    if isinstance(value, float):
        return None if math.isfinite(value) else path
    if isinstance(value, dict):
        for key, item in value.items():
            found = _non_finite(item, f"{path}.{key}")
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _non_finite(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None
