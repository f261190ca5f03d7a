"""Property: whatever the parameters and whatever the skill does, `execute` returns an outcome
whose error (if any) is a catalog code with the catalog's category, and no hold stays reserved.
Nothing escapes but a KeyboardInterrupt (it may stop the program), and only after the holds
were released."""

from __future__ import annotations

import asyncio
import math
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from aos_core import ErrorCode, Policy, ResourceContract, RetryPolicy, Runtime, StructuredOutcome
from aos_core.contracts.errors import catalog_entry
from aos_core.testing.fakes import FakePlugin, fake_skill


class Abort(BaseException):
    """A custom BaseException, as a plugin or a library might define one."""


class Interrupted(KeyboardInterrupt):
    """A KeyboardInterrupt-like exception: it may stop the caller."""


EXCEPTIONS = [
    Abort,
    GeneratorExit,
    KeyboardInterrupt,
    Interrupted,
    ValueError,
    TypeError,
    KeyError,
    IndexError,
    RuntimeError,
    ZeroDivisionError,
    OSError,
    ConnectionResetError,
    TimeoutError,
    PermissionError,
    UnicodeDecodeError,
    RecursionError,
    NotImplementedError,
    AssertionError,
    MemoryError,
    StopIteration,
    SystemExit,
    asyncio.CancelledError,
    asyncio.TimeoutError,
    ArithmeticError,
]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
ODD = st.sampled_from([object(), {1, 2}, b"bytes", float("nan"), math.inf, 10**400, lambda: 1])
PARAMS = st.dictionaries(st.text(max_size=8), JSON | ODD, max_size=5) | JSON | ODD


class Strict(BaseModel):
    count: int = Field(ge=0, default=0)
    name: str = "x"


def build_exception(kind: type[BaseException], text: str) -> BaseException:
    if kind is UnicodeDecodeError:
        return UnicodeDecodeError("utf-8", b"\xff", 0, 1, text)
    if kind is SystemExit:
        return SystemExit(3)
    return kind(text)


BEHAVIOUR = st.one_of(
    st.tuples(st.just("raise"), st.sampled_from(EXCEPTIONS), st.text(max_size=30)),
    st.tuples(st.just("return"), JSON | ODD, st.none()),
    st.tuples(st.just("huge"), st.integers(2_000, 20_000), st.none()),
    st.tuples(st.just("hang"), st.none(), st.none()),
)


def skill_for(mode: str, behaviour: tuple[Any, Any, Any]) -> Any:
    action, value, text = behaviour

    def act() -> Any:
        if action == "raise":
            raise build_exception(value, text)
        if action == "huge":
            return {"blob": "x" * value}
        return value

    if mode == "async":

        async def run(params: Any, ctx: Any) -> Any:
            if action == "hang":
                await asyncio.sleep(1)
            return act()

        return fake_skill("target", run, input_model=Strict, timeout_ms=20)

    def run_sync(params: Any, ctx: Any) -> Any:
        if action == "hang":
            import time

            time.sleep(0.05)
        return act()

    return fake_skill("target", run_sync, input_model=Strict, timeout_ms=20, blocking=mode == "thread")


RUNTIMES: dict[str, Runtime] = {}


def runtime() -> Runtime:
    # one runtime per session: building one per example would only measure plugin loading
    if "r" not in RUNTIMES:
        RUNTIMES["r"] = Runtime(entry_points=False, seed=1)
    return RUNTIMES["r"]


def outcome_of(call: Any, behaviour: tuple[Any, Any, Any]) -> Any:
    """`call()`'s outcome; None when a KeyboardInterrupt the skill raised reached the caller."""
    try:
        return call()
    except KeyboardInterrupt:
        action, kind, _ = behaviour
        assert action == "raise" and issubclass(kind, KeyboardInterrupt)  # only the skill's own interrupt
        return None


def check(outcome: Any) -> None:
    if outcome is None:
        return
    assert isinstance(outcome, StructuredOutcome)
    assert outcome.ok == (outcome.error is None)
    if outcome.error is not None:
        entry = catalog_entry(outcome.error.code)
        assert outcome.error.category == entry.category and outcome.error.retryable == entry.retryable
        assert outcome.error.message and "\n" not in outcome.error.message
        assert "Traceback" not in outcome.error.message
    outcome.model_dump_json()  # always serialisable


def _with_base_exceptions(test: Any) -> Any:
    """Every BaseException that is not an Exception, in every calling mode, always tried."""
    for mode in ("inline", "thread", "async"):
        for kind in (Abort, GeneratorExit, KeyboardInterrupt, Interrupted):
            test = example(mode=mode, behaviour=("raise", kind, "stop"), params={})(test)
    return test


@given(mode=st.sampled_from(["inline", "thread", "async"]), behaviour=BEHAVIOUR, params=PARAMS)
@_with_base_exceptions
def test_execute_never_raises_and_always_returns_a_catalog_code(mode: str, behaviour: Any, params: Any) -> None:
    skill = skill_for(mode, behaviour)
    profile_policy = Policy(retry=RetryPolicy(max_attempts=2, base_delay_ms=0, max_delay_ms=1))
    from aos_core import AgentProfile

    with Runtime(
        profile=AgentProfile(policy=profile_policy, contract=ResourceContract(max_calls=50)),
        plugins=[FakePlugin(skills=[skill])],
        entry_points=False,
        config={"max_output_bytes": 10_000},
        seed=7,
    ) as rt:
        check(outcome_of(lambda: rt.execute("target", params), behaviour))
        check(outcome_of(lambda: asyncio.run(rt.aexecute("target", params)), behaviour))
        assert rt.query("budget")["reserved"]["calls"] == 0  # every hold released, whatever happened


@given(name=st.text(max_size=30), params=PARAMS)
def test_any_skill_name_gives_an_outcome(name: str, params: Any) -> None:
    outcome = runtime().execute(name, params)
    check(outcome)
    if name not in runtime().skills:
        assert outcome.error.code == ErrorCode.SKILL_NOT_FOUND
