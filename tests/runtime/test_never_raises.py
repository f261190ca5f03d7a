"""`execute` never raises for anything a call does, and every hold it takes is released.

Each test here is one way the first release raised or leaked a reservation (issue 13, "More ways
`execute` raises or leaks" and defect 5).
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from aos_core import ErrorCode, Policy, ResourceContract, RetryPolicy
from aos_core.testing import fake_skill

ONE_ATTEMPT = Policy(retry=RetryPolicy(max_attempts=1))


class Abort(BaseException):
    """A BaseException that is neither an Exception, SystemExit, KeyboardInterrupt nor CancelledError."""


def nothing_reserved(runtime: Any) -> bool:
    reserved = runtime.query("budget")["reserved"]
    return reserved["calls"] == 0 and reserved["money"] == "0" and reserved["input_tokens"] == 0


def test_a_skill_named_by_none_is_an_outcome(make_runtime: Any) -> None:
    """`execute(None)` comes back as INVALID_INPUT instead of raising."""
    outcome = make_runtime(fake_skill("echo")).execute(None)  # type: ignore[arg-type]
    assert not outcome.ok and outcome.error.code == ErrorCode.INVALID_INPUT
    assert "named by a string" in outcome.error.message


def test_a_skill_named_by_an_int_is_an_outcome(make_runtime: Any) -> None:
    """`execute(123, {})` comes back as INVALID_INPUT instead of raising."""
    outcome = make_runtime(fake_skill("echo")).execute(123, {})  # type: ignore[arg-type]
    assert not outcome.ok and outcome.error.code == ErrorCode.INVALID_INPUT
    assert outcome.skill == "123"


def test_a_secrets_provider_that_raises_fails_the_call_not_the_caller(make_runtime: Any) -> None:
    """A `secrets=` callable that raises makes the call fail with INVALID_INPUT naming the secret."""

    def provider(name: str) -> str:
        raise ConnectionError("vault unreachable")

    skill = fake_skill("echo")
    runtime = make_runtime(skill, secrets=provider)
    outcome = runtime.execute("echo", {"token": "${secrets.TOKEN}"})
    assert outcome.error.code == ErrorCode.INVALID_INPUT and outcome.error.details["secret"] == "TOKEN"
    assert "ConnectionError" in outcome.error.message and skill.calls == []


def test_a_secrets_mapping_that_raises_fails_the_call_not_the_caller(make_runtime: Any) -> None:
    """A `secrets=` mapping whose lookup raises is a failed call, not an exception."""

    class Broken(dict[str, str]):
        def get(self, key: str, default: Any = None) -> Any:
            raise KeyError(key)

    runtime = make_runtime(fake_skill("echo"), secrets=Broken())
    outcome = runtime.execute("echo", {"token": "${secrets.TOKEN}"})
    assert outcome.error.code == ErrorCode.INVALID_INPUT and outcome.error.details["secret"] == "TOKEN"


def test_a_secret_value_that_is_not_a_string_fails_the_call(make_runtime: Any) -> None:
    """A provider returning an int for a secret fails the call with INVALID_INPUT."""
    skill = fake_skill("echo")
    runtime = make_runtime(skill, secrets={"TOKEN": 12345})  # type: ignore[dict-item]
    outcome = runtime.execute("echo", {"token": "${secrets.TOKEN}"})
    assert outcome.error.code == ErrorCode.INVALID_INPUT and "not a string" in outcome.error.message
    assert skill.calls == []


def test_params_nested_a_thousand_levels_deep_are_invalid_input(make_runtime: Any) -> None:
    """Deeply nested params are refused with INVALID_INPUT, never a RecursionError."""
    deep: dict[str, Any] = {}
    level = deep
    for _ in range(1000):
        level["a"] = {}
        level = level["a"]
    skill = fake_skill("echo")
    runtime = make_runtime(skill)
    outcome = runtime.execute("echo", deep)
    assert outcome.error.code == ErrorCode.INVALID_INPUT and outcome.error.details == {"limit": "depth"}
    assert asyncio.run(runtime.aexecute("echo", deep)).error.code == ErrorCode.INVALID_INPUT
    assert skill.calls == []


def test_an_output_holding_an_int_of_five_thousand_digits_fails_and_releases_its_hold(make_runtime: Any) -> None:
    """An int over Python's 4,300-digit str limit in an output is OUTPUT_VALIDATION_FAILED; nothing stays held."""
    runtime = make_runtime(fake_skill("huge", returns={"n": 10**5000}), contract=ResourceContract(max_calls=5))
    outcome = runtime.execute("huge", {})
    assert outcome.error.code == ErrorCode.OUTPUT_VALIDATION_FAILED
    assert nothing_reserved(runtime) and runtime.query("budget")["spent"]["calls"] == 1


def test_an_output_holding_a_lone_surrogate_names_where_and_releases_its_hold(make_runtime: Any) -> None:
    """A skill that passes on a string UTF-8 cannot encode (Python's json reads the escape
    "\\ud800" alone into one): the error says where, not only that serialising failed."""
    runtime = make_runtime(fake_skill("echo", returns={"n": ["ok", "x\udc80"]}), contract=ResourceContract(max_calls=5))
    outcome = runtime.execute("echo", {})
    assert outcome.error is not None and outcome.error.code == ErrorCode.OUTPUT_VALIDATION_FAILED
    assert "the string at output.n.1 holds a lone surrogate" in outcome.error.message
    assert outcome.error.details == {"field": "output.n.1"} and nothing_reserved(runtime)
    outcome.model_dump_json()  # the outcome itself is writable


@pytest.mark.parametrize("blocking", [False, True], ids=["inline", "thread"])
def test_a_custom_base_exception_from_a_sync_skill_is_a_crash(make_runtime: Any, blocking: bool) -> None:
    """A sync skill raising a BaseException subclass gets SKILL_CRASHED, and its hold is released."""
    skill = fake_skill("abort", raises=Abort("stop everything"), blocking=blocking)
    runtime = make_runtime(skill, fake_skill("echo"), contract=ResourceContract(max_calls=2), policy=ONE_ATTEMPT)
    outcome = runtime.execute("abort", {})
    assert outcome.error.code == ErrorCode.SKILL_CRASHED and "Abort" in outcome.error.message
    assert nothing_reserved(runtime)
    assert runtime.execute("echo", {}).ok  # the second of two calls still fits: the first hold was settled


def test_a_custom_base_exception_from_an_async_skill_is_a_crash(make_runtime: Any) -> None:
    """An async skill raising a BaseException subclass gets SKILL_CRASHED through execute and aexecute."""

    async def abort(params: Any, ctx: Any) -> Any:
        raise Abort("stop everything")

    runtime = make_runtime(fake_skill("abort", abort), contract=ResourceContract(max_calls=3), policy=ONE_ATTEMPT)
    assert runtime.execute("abort", {}).error.code == ErrorCode.SKILL_CRASHED
    assert asyncio.run(runtime.aexecute("abort", {})).error.code == ErrorCode.SKILL_CRASHED
    assert nothing_reserved(runtime) and runtime.query("budget")["spent"]["calls"] == 2


def test_keyboard_interrupt_from_an_inline_skill_propagates_after_its_hold_is_released(make_runtime: Any) -> None:
    """KeyboardInterrupt stops the caller, but only after the call's reservation was settled."""
    skill = fake_skill("interrupted", raises=KeyboardInterrupt())
    runtime = make_runtime(skill, fake_skill("echo"), contract=ResourceContract(max_calls=2))
    with pytest.raises(KeyboardInterrupt):
        runtime.execute("interrupted", {})
    assert nothing_reserved(runtime)
    assert runtime.execute("echo", {}).ok


def test_keyboard_interrupt_from_an_async_skill_reaches_the_sync_caller_and_the_runtime_goes_on(
    make_runtime: Any,
) -> None:
    """An async skill run for `execute` on the runtime's own loop raising KeyboardInterrupt: the
    caller gets it (instead of waiting for ever), the hold is released, and the loop still works."""

    async def interrupted(params: Any, ctx: Any) -> Any:
        raise KeyboardInterrupt

    async def echo(params: Any, ctx: Any) -> Any:
        return {"fine": True}

    runtime = make_runtime(
        fake_skill("interrupted", interrupted), fake_skill("echo", echo), contract=ResourceContract(max_calls=2)
    )
    raised: list[BaseException] = []

    def call() -> None:
        try:
            runtime.execute("interrupted", {})
        except BaseException as exc:  # what reaches the caller is the point of the test
            raised.append(exc)

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(10)
    assert not caller.is_alive(), "execute never returned: the runtime's loop died with the interrupt"
    assert [type(e) for e in raised] == [KeyboardInterrupt]
    assert nothing_reserved(runtime)
    assert runtime.execute("echo", {}).output == {"fine": True}  # the runtime's loop survived


def test_execute_from_eight_threads_on_an_async_skill_never_raises_or_leaks(make_runtime: Any) -> None:
    """The sync API is safe from many threads at once for an async skill: every call an outcome, no hold left."""

    async def work(params: Any, ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(0.001)
        return {"n": params.n}

    runtime = make_runtime(
        fake_skill("work", work), contract=ResourceContract(max_calls=10_000, max_money="100", max_concurrency=4)
    )

    def call(n: int) -> Any:
        return runtime.execute("work", {"n": n})

    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(call, range(400)))
    assert all(o.ok for o in outcomes), {o.error.message for o in outcomes if not o.ok}
    assert sorted(o.output["n"] for o in outcomes) == list(range(400))
    assert nothing_reserved(runtime) and runtime.query("budget")["spent"]["calls"] == 400
