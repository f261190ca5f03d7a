"""Policy refusals happen before the skill is called."""

from __future__ import annotations

import asyncio
from typing import Any

from aos_core import ErrorCode, Policy, SideEffect
from aos_core.testing.fakes import fake_skill


def test_a_denied_skill_is_refused_and_never_called(make_runtime: Any) -> None:
    skill = fake_skill("rm")
    runtime = make_runtime(skill, policy=Policy(deny_skills=("rm",)))
    outcome = runtime.execute("rm", {})
    assert outcome.error.code == ErrorCode.PERMISSION_DENIED
    assert outcome.error.details["rule"] == "policy.deny_skills" and skill.calls == []


def test_a_skill_outside_the_allow_list_is_refused(make_runtime: Any) -> None:
    skill = fake_skill("shell")
    runtime = make_runtime(skill, fake_skill("read"), policy=Policy(allow_skills=("read",)))
    assert runtime.execute("shell", {}).error.details["rule"] == "policy.allow_skills"
    assert runtime.execute("read", {}).ok and skill.calls == []


def test_side_effects_needing_approval_are_refused_without_an_approver(make_runtime: Any) -> None:
    skill = fake_skill("drop_table", side_effects=SideEffect.DESTRUCTIVE)
    runtime = make_runtime(skill)
    outcome = runtime.execute("drop_table", {"table": "users"})
    assert outcome.error.code == ErrorCode.PERMISSION_DENIED
    assert "--approve drop_table" in outcome.error.message and skill.calls == []


def test_an_approver_sees_the_request_and_can_decline(make_runtime: Any) -> None:
    asked: list[Any] = []
    skill = fake_skill("drop_table", side_effects=SideEffect.DESTRUCTIVE)

    def approver(request: Any) -> bool:
        asked.append(request)
        return request.params.get("table") == "scratch"

    runtime = make_runtime(skill, approve=approver)
    declined = runtime.execute("drop_table", {"table": "users"})
    approved = runtime.execute("drop_table", {"table": "scratch"})
    assert declined.error.code == ErrorCode.PERMISSION_DENIED and "declined" in declined.error.message
    assert approved.ok and len(skill.calls) == 1
    assert [(r.skill, r.side_effects) for r in asked] == [("drop_table", "destructive")] * 2


def test_an_async_approver_works_with_the_async_api(make_runtime: Any) -> None:
    async def approver(request: Any) -> bool:
        await asyncio.sleep(0)
        return True

    runtime = make_runtime(
        fake_skill("write", side_effects=SideEffect.WRITE),
        policy=Policy(approval_required_for=("write",)),
        approve=approver,
    )
    assert asyncio.run(runtime.aexecute("write", {})).ok
    assert runtime.execute("write", {}).ok


def test_a_failing_approver_means_no(make_runtime: Any) -> None:
    def approver(request: Any) -> bool:
        raise OSError("no terminal")

    skill = fake_skill("nuke", side_effects=SideEffect.DESTRUCTIVE)
    runtime = make_runtime(skill, approve=approver)
    outcome = runtime.execute("nuke", {})
    assert outcome.error.code == ErrorCode.PERMISSION_DENIED and "approver failed" in outcome.error.message
    assert skill.calls == []


def test_advance_approval_in_the_policy(make_runtime: Any) -> None:
    skill = fake_skill("nuke", side_effects=SideEffect.DESTRUCTIVE)
    assert make_runtime(skill, policy=Policy(approved=("nuke",))).execute("nuke", {}).ok
    assert make_runtime(skill, policy=Policy(approved=("all",))).execute("nuke", {}).ok
