"""The `llm_invoke` skill."""

from __future__ import annotations

from typing import Any

from aos_core import CostModel, ErrorCode, SideEffect, SkillContext, SkillError, SkillMetadata

from aos_skill_llm.models import LlmInvokeInput, LlmInvokeOutput

__all__ = ["LlmInvoke"]

FAILURE_CODES = (
    ErrorCode.INVALID_INPUT,
    ErrorCode.PERMISSION_DENIED,
    ErrorCode.RATE_LIMITED,
    ErrorCode.HTTP_4XX,
    ErrorCode.HTTP_5XX,
    ErrorCode.CONNECTION_FAILED,
    ErrorCode.TIMEOUT,
    ErrorCode.OUTPUT_VALIDATION_FAILED,
)


class LlmInvoke:
    """Call Claude through the anthropic SDK; priced per token from genai-prices."""

    metadata = SkillMetadata(
        name="llm_invoke",
        version="0.1.0",
        description="Ask a Claude model (Anthropic Messages API); optional JSON output schema.",
        side_effects=SideEffect.NONE,
        network=True,
        idempotent=True,
        deterministic=False,
        timeout_ms=120_000,
        cost=CostModel(uses_tokens=True),
        failure_codes=FAILURE_CODES,
        permissions=("net", "secret:ANTHROPIC_API_KEY"),
        expected_latency_ms=4_000.0,
    )
    Input = LlmInvokeInput
    Output = LlmInvokeOutput

    async def execute(self, params: LlmInvokeInput, ctx: SkillContext) -> Any:
        raise SkillError(ErrorCode.SKILL_CRASHED, "llm_invoke is declared but not implemented in this build")
