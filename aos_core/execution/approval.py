"""Asking for an approval before a call whose side effects the policy wants approved."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.skill import SkillMetadata
from aos_core.execution.effects import Approve
from aos_core.policy import ApprovalRequest

__all__ = ["ask_approval"]


def ask_approval(
    approve: Callable[[ApprovalRequest], Any] | None, meta: SkillMetadata, params: Mapping[str, Any], step_id: str
) -> Any:
    """Generator (yields one `Approve` effect) returning None when approved, else the
    `PERMISSION_DENIED` error: no approver, declined, or the approver failed."""
    if approve is None:
        return _denied(
            f"{meta.name} has {meta.side_effects.value} side effects and needs approval; "
            f"grant it (--approve {meta.name}) or pass an approve callback",
            meta.name,
        )
    request = ApprovalRequest(meta.name, meta.side_effects.value, dict(params), step_id)
    answer = yield Approve(approve, request)
    if answer is True:
        return None
    reason = (
        f"the approver failed: {type(answer).__name__}: {answer}"
        if isinstance(answer, Exception)
        else "it was declined"
    )
    return _denied(f"{meta.name} needs approval and {reason}", meta.name)


def _denied(message: str, skill: str) -> ErrorInfo:
    return make_error(
        ErrorCode.PERMISSION_DENIED, message, details={"rule": "policy.approval_required_for", "skill": skill}
    )
