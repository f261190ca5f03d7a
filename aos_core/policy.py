"""Policy decisions, pure functions of the policy: may this skill run, does it need an approval,
with what timeout, may a failed call be tried again."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.profile import Policy
from aos_core.contracts.skill import SkillMetadata

__all__ = [
    "ApprovalRequest",
    "check_allowed",
    "may_retry",
    "needs_approval",
    "never_sent",
    "timeout_ms",
]


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """What an approval callback is asked: this skill, with these (unresolved) parameters."""

    skill: str
    side_effects: str
    params: dict[str, Any]
    step_id: str


def check_allowed(policy: Policy, skill: str) -> ErrorInfo | None:
    """`PERMISSION_DENIED` naming the rule when the policy forbids `skill`, else None."""
    if skill in policy.deny_skills:
        return make_error(
            ErrorCode.PERMISSION_DENIED,
            f"skill {skill!r} is denied by policy.deny_skills",
            details={"rule": "policy.deny_skills", "skill": skill},
        )
    if policy.allow_skills is not None and skill not in policy.allow_skills:
        return make_error(
            ErrorCode.PERMISSION_DENIED,
            f"skill {skill!r} is not in policy.allow_skills ({', '.join(policy.allow_skills) or 'empty'})",
            details={"rule": "policy.allow_skills", "skill": skill},
        )
    return None


def needs_approval(policy: Policy, metadata: SkillMetadata) -> bool:
    """True when the skill's side effects need an approval that was not given in advance."""
    if metadata.side_effects not in policy.approval_required_for:
        return False
    return "all" not in policy.approved and metadata.name not in policy.approved


def timeout_ms(policy: Policy, metadata: SkillMetadata) -> int:
    """The policy's override for this skill, else the skill's own timeout."""
    return policy.timeouts_ms.get(metadata.name, metadata.timeout_ms)


def may_retry(policy: Policy, error: ErrorInfo, attempt: int, safe_to_repeat: bool) -> bool:
    """Whether a failed attempt is tried again: the error is retryable, attempts are left, and
    repeating the call is safe, or the error proves the request never left (a connection
    refused, a name that did not resolve), or the policy allows repeating unsafe calls."""
    if not error.retryable or attempt >= policy.retry.max_attempts:
        return False
    return safe_to_repeat or never_sent(error) or policy.retry.repeat_unsafe


def never_sent(error: ErrorInfo) -> bool:
    """Whether the failure proves the request never reached anyone."""
    return error.code == ErrorCode.DNS_FAILURE or error.details.get("request_sent") is False
