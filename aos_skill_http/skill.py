"""The `http_call` skill: metadata, models and the call."""

from __future__ import annotations

from typing import Any

from aos_core import ErrorCode, SideEffect, SkillContext, SkillError, SkillMetadata

from aos_skill_http.models import HttpCallInput, HttpCallOutput

__all__ = ["HttpCall"]

FAILURE_CODES = (
    ErrorCode.INVALID_INPUT,
    ErrorCode.POLICY_VIOLATION,
    ErrorCode.DNS_FAILURE,
    ErrorCode.CONNECTION_FAILED,
    ErrorCode.TIMEOUT,
    ErrorCode.HTTP_4XX,
    ErrorCode.HTTP_5XX,
    ErrorCode.RATE_LIMITED,
    ErrorCode.OUTPUT_VALIDATION_FAILED,
)


class HttpCall:
    """Make one HTTP request under the runtime's network policy."""

    metadata = SkillMetadata(
        name="http_call",
        version="0.1.0",
        description="Make an HTTP request; private, loopback and metadata addresses are refused unless allowed.",
        side_effects=SideEffect.WRITE,
        network=True,
        idempotent=False,
        deterministic=False,
        timeout_ms=30_000,
        failure_codes=FAILURE_CODES,
        permissions=("net",),
        expected_latency_ms=300.0,
    )
    Input = HttpCallInput
    Output = HttpCallOutput

    async def execute(self, params: HttpCallInput, ctx: SkillContext) -> Any:
        raise SkillError(ErrorCode.SKILL_CRASHED, "http_call is declared but not implemented in this build")
