"""The sync API runs an inline skill as one plain call, the async API through the effect pipeline:
both must give the same outcomes, spend the same budget and wait the same (seeded) retry delays."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from aos_core import ErrorCode, Policy, ResourceContract, RetryPolicy, Runtime, SkillError
from aos_core.execution.clock import VirtualClock
from aos_core.testing.fakes import fake_skill

CALLS: list[tuple[str, Any]] = [
    ("echo", {"x": 1}),
    ("echo", {"x": "not a number"}),
    ("echo", ["not", "an", "object"]),
    ("broken", {}),
    ("flaky", {}),
    ("always_503", {}),
    ("wrong_output", {}),
    ("denied", {}),
    ("nowhere", {}),
    ("echo", {"x": 2}),
    ("echo", {"x": 3}),
]


class Number(BaseModel):
    x: int


def _flaky() -> Callable[[Any, Any], Any]:
    failures = iter([SkillError(ErrorCode.HTTP_5XX, "503"), SkillError(ErrorCode.TIMEOUT, "slow")])

    def flaky(params: Any, ctx: Any) -> Any:
        failure = next(failures, None)
        if failure is not None:
            raise failure
        return {"fine": True}

    return flaky


def _runtime() -> Runtime:
    from aos_core import AgentProfile
    from aos_core.testing.fakes import FakePlugin

    skills = [
        fake_skill("echo", input_model=Number, output_model=Number),
        fake_skill("broken", raises=ValueError("a bug")),
        fake_skill("flaky", _flaky()),
        fake_skill("always_503", raises=SkillError(ErrorCode.HTTP_5XX, "503"), failure_codes=["HTTP_5XX"]),
        fake_skill("wrong_output", returns={"unexpected": object()}),
        fake_skill("denied"),
    ]
    policy = Policy(retry=RetryPolicy(max_attempts=3, base_delay_ms=100, max_delay_ms=400), deny_skills=["denied"])
    # the calls above need 11: the last echo is refused by the budget; the gate is always in play
    contract = ResourceContract(max_calls=10, max_money="1.00", max_concurrency=2)
    return Runtime(
        profile=AgentProfile(policy=policy, contract=contract),
        plugins=[FakePlugin(skills=skills)],
        entry_points=False,
        seed=99,
        clock=VirtualClock(),
    )


def _comparable(outcome: Any) -> dict[str, Any]:
    data: dict[str, Any] = outcome.model_dump(mode="json")
    data.pop("step_id")
    data.pop("trace_id")
    return data


def test_execute_and_aexecute_give_the_same_outcomes_budget_and_waits() -> None:
    sync_runtime, async_runtime = _runtime(), _runtime()
    try:
        by_sync = [_comparable(sync_runtime.execute(skill, params)) for skill, params in CALLS]

        async def run_all() -> list[dict[str, Any]]:
            return [_comparable(await async_runtime.aexecute(skill, params)) for skill, params in CALLS]

        by_async = asyncio.run(run_all())
        for (skill, params), left, right in zip(CALLS, by_sync, by_async, strict=True):
            assert left == right, f"{skill} {params!r}"
        codes = [o["error"]["code"] if o["error"] else "ok" for o in by_sync]
        assert codes == [
            "ok",
            "SCHEMA_VALIDATION_FAILED",
            "SCHEMA_VALIDATION_FAILED",
            "SKILL_CRASHED",
            "ok",
            "HTTP_5XX",
            "OUTPUT_VALIDATION_FAILED",
            "PERMISSION_DENIED",
            "SKILL_NOT_FOUND",
            "ok",
            "BUDGET_EXCEEDED",
        ]
        flaky, exhausted = by_sync[4], by_sync[5]
        assert flaky["attempts"] == 3 and flaky["duration_ms"] > 0  # two seeded waits on the virtual clock
        assert exhausted["attempts"] == 3 and exhausted["cost"]["calls"] == 3
        assert sync_runtime.query("budget")["spent"] == async_runtime.query("budget")["spent"]
        assert sync_runtime.query("budget")["spent"]["calls"] == 10
    finally:
        sync_runtime.close()
        async_runtime.close()
