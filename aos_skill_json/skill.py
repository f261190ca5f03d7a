"""The `json_transform` skill."""

from __future__ import annotations

from typing import Any

from aos_core import ErrorCode, SideEffect, SkillContext, SkillError, SkillMetadata

from aos_skill_json.models import JsonTransformInput, JsonTransformOutput

__all__ = ["JsonTransform"]


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
        failure_codes=(ErrorCode.INVALID_INPUT,),
        expected_latency_ms=0.1,
    )
    Input = JsonTransformInput
    Output = JsonTransformOutput

    def execute(self, params: JsonTransformInput, ctx: SkillContext) -> Any:
        raise SkillError(ErrorCode.SKILL_CRASHED, "json_transform is declared but not implemented in this build")
