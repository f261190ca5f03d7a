"""One pipeline for every caller: the same calls made through `execute`, `aexecute`, a run, the
resume of an interrupted run, and the replays of both runs give the same outcomes, the same spend
and the same state.

The calls cover every gate: an ok call that writes state, parameters that fail the schema, a
crash, a timeout set by the policy (retried), a failure retried with seeded waits on a virtual
clock until it succeeds, an approval granted and one denied, a secret, and a call the budget
refuses (`max_calls=10`: the calls before it need exactly ten). A plan's literal parameters are
validated before its run starts, so in the plan the bad parameters come from the first step's
output (the call the skill sees is the same). A run names its steps `exec-1`,
`exec-2`, ... as `execute` names its calls, and runs them one at a time (`max_concurrency=1`), so
seeded retry waits and the budget see the same sequence. The run that is resumed is interrupted
while its sixth step waits for an approval, before that call holds anything; a run interrupted
with a call in flight also spends that call's worst case (test_resume.py shows it). The only
field left out of the comparison is `trace_id`: it names the runtime's session for direct calls
and the run for the others.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aos_core import (
    AgentProfile,
    ErrorCode,
    Policy,
    ResourceContract,
    RetryPolicy,
    Runtime,
    SideEffect,
    SkillError,
    StructuredOutcome,
)
from aos_core.testing import FakePlugin, VirtualClock, fake_skill

from .conftest import interrupt

CALLS: list[tuple[str, dict[str, Any]]] = [
    ("echo", {"x": 1}),
    ("echo", {"x": "not a number"}),
    ("broken", {}),
    ("slow", {}),
    ("flaky", {}),
    ("guarded", {"ok": True}),
    ("guarded", {"ok": False}),
    ("sign", {"token": "${secrets.API_TOKEN}"}),
    ("echo", {"x": 9}),
]
EXPECTED = [
    "ok",
    "SCHEMA_VALIDATION_FAILED",
    "SKILL_CRASHED",
    "TIMEOUT",
    "ok",
    "ok",
    "PERMISSION_DENIED",
    "ok",
    "BUDGET_EXCEEDED",
]
STEP_IDS = [f"exec-{i}" for i in range(1, len(CALLS) + 1)]
PLAN = {
    "goal": "every gate once",
    "steps": [
        {"id": step, "skill": skill, "params": params} for step, (skill, params) in zip(STEP_IDS, CALLS, strict=True)
    ],
}
PLAN["steps"][1]["params"] = {"x": "${steps.exec-1.output.word}"}  # "not a number", known at run time
SECRET = "tok-3f9a1c-secret"
APPROVAL_STEP = "exec-6"  # the resumed run is interrupted while this approval is pending


class Number(BaseModel):
    x: int


class Token(BaseModel):
    token: str


class Choice(BaseModel):
    ok: bool


def echo(params: Number, ctx: Any) -> dict[str, Any]:
    ctx.state.set(f"echo_{params.x}", params.x)
    return {"x": params.x, "draw": ctx.random.random(), "word": "not a number"}


async def slow(params: Any, ctx: Any) -> dict[str, Any]:
    await asyncio.sleep(5)
    return {}


def flaky(params: Any, ctx: Any) -> dict[str, Any]:
    if ctx.attempt < 3:
        raise SkillError(ErrorCode.HTTP_5XX, f"503 on attempt {ctx.attempt}")
    ctx.state.set("flaky", ctx.attempt)
    return {"attempt": ctx.attempt}


def skills() -> FakePlugin:
    return FakePlugin(
        skills=[
            fake_skill("echo", echo, input_model=Number),
            fake_skill("broken", raises=ValueError("a bug")),
            fake_skill("slow", slow, timeout_ms=10_000),
            fake_skill("flaky", flaky, failure_codes=["HTTP_5XX"]),
            fake_skill(
                "guarded", lambda p, ctx: {"done": True}, input_model=Choice, side_effects=SideEffect.DESTRUCTIVE
            ),
            fake_skill("sign", lambda p, ctx: {"authorization": f"Bearer {p.token}"}, input_model=Token),
        ]
    )


def approve(request: Any) -> bool:
    return request.params.get("ok") is True


def runtime(store: Path | None = None, approver: Any = approve) -> Runtime:
    policy = Policy(
        retry=RetryPolicy(max_attempts=3, base_delay_ms=100, max_delay_ms=400),
        timeouts_ms={"slow": 40},
        on_step_failure="continue",
    )
    return Runtime(
        profile=AgentProfile(policy=policy, contract=ResourceContract(max_calls=10, max_concurrency=1)),
        plugins=[skills()],
        entry_points=False,
        seed=2026,
        clock=VirtualClock(),
        secrets={"API_TOKEN": SECRET},
        approve=approver,
        store=store,
    )


def comparable(outcomes: list[StructuredOutcome]) -> list[dict[str, Any]]:
    shown = []
    for outcome in outcomes:
        data = outcome.model_dump(mode="json")
        data.pop("trace_id")
        shown.append(data)
    return shown


def in_order(outcomes: dict[str, StructuredOutcome]) -> list[StructuredOutcome]:
    return [outcomes[step] for step in STEP_IDS]


def test_every_caller_gives_the_same_outcomes_spend_and_state(tmp_path: Path) -> None:
    paths: dict[str, tuple[list[dict[str, Any]], dict[str, Any], dict[str, Any]]] = {}

    with runtime() as direct:
        outcomes = [direct.execute(skill, params) for skill, params in CALLS]
        paths["execute"] = (comparable(outcomes), direct.query("budget")["spent"], direct.query("state")["state"])

    with runtime() as direct:

        async def all_calls() -> list[StructuredOutcome]:
            return [await direct.aexecute(skill, params) for skill, params in CALLS]

        outcomes = asyncio.run(all_calls())
        paths["aexecute"] = (comparable(outcomes), direct.query("budget")["spent"], direct.query("state")["state"])

    with runtime(tmp_path / "run.sqlite3") as runner:
        result = runner.run(PLAN)
        paths["run"] = (
            comparable(in_order(result.outcomes)),
            result.spent.model_dump(mode="json"),
            result.state,
        )
        replay = runner.replay(result.run_id)
        assert replay.matched, replay.divergence
        paths["replay of the run"] = (
            comparable(in_order(replay.outcomes)),
            replay.spent.model_dump(mode="json"),
            replay.state,
        )

    pending = threading.Event()
    interrupting = [True]

    async def approve_unless_interrupting(request: Any) -> bool:
        if interrupting[0] and request.step_id == APPROVAL_STEP:
            pending.set()
            await asyncio.sleep(60)  # a person who has not answered yet: the run is interrupted here
        return approve(request)

    with runtime(tmp_path / "resumed.sqlite3", approve_unless_interrupting) as resumer:
        run_id = interrupt(resumer, PLAN, pending)
        interrupting[0] = False
        result = resumer.run(resume=run_id)
        assert result.reused == tuple(STEP_IDS[:5])  # the interruption came after five committed steps
        paths["resume of an interrupted run"] = (
            comparable(in_order(result.outcomes)),
            result.spent.model_dump(mode="json"),
            result.state,
        )
        replay = resumer.replay(run_id)
        assert replay.matched, replay.divergence
        paths["replay of the resumed run"] = (
            comparable(in_order(replay.outcomes)),
            replay.spent.model_dump(mode="json"),
            replay.state,
        )

    reference_outcomes, reference_spend, reference_state = paths["execute"]
    assert [o["error"]["code"] if o["error"] else "ok" for o in reference_outcomes] == EXPECTED
    assert reference_spend["calls"] == 10 and reference_state["flaky"] == 3
    assert reference_outcomes[4]["attempts"] == 3 and reference_outcomes[4]["duration_ms"] > 0  # seeded waits
    assert reference_outcomes[7]["output"] == {"authorization": "Bearer [REDACTED:API_TOKEN]"}
    for name, (outcomes, spend, state) in paths.items():
        for call, (mine, reference) in enumerate(zip(outcomes, reference_outcomes, strict=True)):
            assert mine == reference, f"{name}: call {call + 1} {CALLS[call]}"
        assert spend == reference_spend, name
        assert state == reference_state, name
