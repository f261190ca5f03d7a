"""Calls the runtime gives up on (defect 12): the skill is told through `ctx.cancelled`, and an
abandoned call never keeps the process alive."""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from plugin_dir import plugin_env, write_plugin

from aos_core import ErrorCode, Policy, RetryPolicy
from aos_core.testing import fake_skill

ONE_ATTEMPT = Policy(retry=RetryPolicy(max_attempts=1))


def test_a_blocking_skill_past_its_timeout_sees_ctx_cancelled(make_runtime: Any) -> None:
    """The worker thread of a timed-out call finds `ctx.cancelled` set and can stop early."""
    noticed = threading.Event()

    def waits(params: Any, ctx: Any) -> dict[str, Any]:
        if ctx.cancelled.wait(5):
            noticed.set()
        return {}

    runtime = make_runtime(fake_skill("waits", waits, blocking=True, timeout_ms=50), policy=ONE_ATTEMPT)
    started = time.monotonic()
    outcome = runtime.execute("waits", {})
    assert outcome.error.code == ErrorCode.TIMEOUT
    assert noticed.wait(2) and time.monotonic() - started < 2


def test_an_async_skill_past_its_timeout_has_ctx_cancelled_set(make_runtime: Any) -> None:
    """An async call cut off at its timeout leaves its context marked cancelled."""
    contexts: list[Any] = []

    async def sleeps(params: Any, ctx: Any) -> dict[str, Any]:
        contexts.append(ctx)
        await asyncio.sleep(5)
        return {}

    runtime = make_runtime(fake_skill("sleeps", sleeps, timeout_ms=30), policy=ONE_ATTEMPT)
    assert runtime.execute("sleeps", {}).error.code == ErrorCode.TIMEOUT
    assert asyncio.run(runtime.aexecute("sleeps", {})).error.code == ErrorCode.TIMEOUT
    assert [ctx.cancelled.is_set() for ctx in contexts] == [True, True]


def test_a_timed_out_call_leaves_the_callers_task_uncancelled(make_runtime: Any) -> None:
    """The deadline cancels the awaiting task to cut the call short, then takes that back: after
    a TIMEOUT (async skill or worker thread) the caller's task has no cancellation pending and
    its next await is not interrupted; cancelling the caller itself still propagates."""

    async def sleeps(params: Any, ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(5)
        return {}

    def waits(params: Any, ctx: Any) -> dict[str, Any]:
        ctx.cancelled.wait(5)
        return {}

    runtime = make_runtime(
        fake_skill("sleeps", sleeps, timeout_ms=30),
        fake_skill("waits", waits, blocking=True, timeout_ms=30),
        policy=ONE_ATTEMPT,
    )

    async def caller() -> list[Any]:
        task = asyncio.current_task()
        assert task is not None
        seen: list[Any] = []
        for name in ("sleeps", "waits"):
            outcome = await runtime.aexecute(name, {})
            seen.append((outcome.error.code, task.cancelling()))
            await asyncio.sleep(0.01)  # not interrupted by a cancellation left behind
        inner = asyncio.ensure_future(runtime.aexecute("sleeps", {}))
        await asyncio.sleep(0.005)
        inner.cancel()
        try:
            await inner
        except asyncio.CancelledError:
            seen.append("cancelled")
        return seen

    assert asyncio.run(caller()) == [(ErrorCode.TIMEOUT, 0), (ErrorCode.TIMEOUT, 0), "cancelled"]


def test_cancelling_the_caller_sets_ctx_cancelled_for_a_blocking_skill(make_runtime: Any) -> None:
    """Cancelling the task awaiting `aexecute` tells the skill's worker thread to stop."""
    running = threading.Event()
    noticed = threading.Event()

    def waits(params: Any, ctx: Any) -> dict[str, Any]:
        running.set()
        if ctx.cancelled.wait(5):
            noticed.set()
        return {}

    runtime = make_runtime(fake_skill("waits", waits, blocking=True, timeout_ms=10_000), policy=ONE_ATTEMPT)

    async def main() -> None:
        task = asyncio.create_task(runtime.aexecute("waits", {}))
        while not running.is_set():
            await asyncio.sleep(0.001)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    assert noticed.wait(2)


SPIN_PLUGIN = '''
from pydantic import BaseModel

from aos_core import SideEffect, SkillMetadata, hookimpl


class Nothing(BaseModel):
    pass


class Spin:
    """Loops for ever and never looks at ctx.cancelled."""

    metadata = SkillMetadata(
        name="spin",
        version="0.1.0",
        description="An endless loop that ignores cancellation.",
        side_effects=SideEffect.NONE,
        idempotent=True,
        deterministic=True,
        blocking=True,
        timeout_ms=600000,
    )
    Input = Nothing
    Output = Nothing

    def execute(self, params, ctx):
        while True:
            pass


@hookimpl
def aos_register_skills(register):
    register(Spin())
'''


def test_aos_exec_of_an_endless_loop_under_a_policy_timeout_prints_timeout_and_exits(
    aos_cli: Any, tmp_path: Path
) -> None:
    """A timed-out blocking skill's thread never keeps `aos exec` from exiting."""
    plugins = write_plugin(tmp_path / "plugins", "aos_spin_plugin", SPIN_PLUGIN)
    profile = tmp_path / "profile.json"
    profile.write_text(json.dumps({"policy": {"timeouts_ms": {"spin": 200}, "retry": {"max_attempts": 1}}}))
    started = time.monotonic()
    try:
        done = aos_cli("exec", "spin", "--profile", str(profile), "--json", env=plugin_env(plugins), timeout=60)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"aos exec never exited; it printed {exc.stdout!r}") from None
    assert done.returncode == 6, done.stderr  # TRANSIENT
    outcome = json.loads(done.stdout)
    assert outcome["error"]["code"] == "TIMEOUT" and outcome["error"]["details"] == {"timeout_ms": 200}
    assert time.monotonic() - started < 30
