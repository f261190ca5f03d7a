"""The clock contract (defect 10): now(), monotonic(), sleep(s) and async asleep(s). Every wait
(rate limits, retry delays) sleeps on the runtime's clock, and a clock that never advances
ends a wait with RATE_LIMITED instead of spinning."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import pytest

from aos_core import ErrorCode, Policy, RateLimit, ResourceContract, RetryPolicy, Runtime, SkillError
from aos_core.testing import VirtualClock, fake_skill

LIMITED = ResourceContract(rate_limits={"free": RateLimit(per_second=1, burst=1)})


class NoSleep:
    """A clock as the first release accepted it: it can be read but not slept on."""

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        return 0.0

    async def asleep(self, seconds: float) -> None:
        return None


class Frozen:
    """A complete clock that never moves: sleeping on it returns at once and time stands still."""

    def __init__(self) -> None:
        self.readings = 0
        self.sleeps = 0

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        self.readings += 1
        return 0.0

    def sleep(self, seconds: float) -> None:
        self.sleeps += 1

    async def asleep(self, seconds: float) -> None:
        self.sleeps += 1


class Sleeps(VirtualClock):
    """A virtual clock that notes each sleep (sync and async) it is asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.slept: list[tuple[str, float]] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(("sleep", seconds))
        super().sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        self.slept.append(("asleep", seconds))
        await super().asleep(seconds)


def test_a_clock_without_sleep_is_refused_when_the_runtime_is_built() -> None:
    """`Runtime(clock=...)` raises TypeError naming `sleep` instead of busy-waiting on the clock later."""
    with pytest.raises(TypeError, match="lacks sleep"):
        Runtime(entry_points=False, clock=NoSleep())


@pytest.mark.parametrize("missing", ["now", "monotonic", "asleep"])
def test_a_clock_missing_any_part_of_the_contract_is_refused(missing: str) -> None:
    """Each of now, monotonic, sleep and asleep is required."""
    parts = {name: getattr(Frozen(), name) for name in ("now", "monotonic", "sleep", "asleep") if name != missing}
    clock = type("Partial", (), {name: staticmethod(part) for name, part in parts.items()})()
    with pytest.raises(TypeError, match=f"lacks {missing}"):
        Runtime(entry_points=False, clock=clock)


def finishes(call: Any, seconds: float = 10.0) -> Any:
    """`call()` in a daemon thread; fails the test (instead of hanging it) if it never returns."""
    result: list[Any] = []
    worker = threading.Thread(target=lambda: result.append(call()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), "the call never returned: it is spinning on a clock that does not move"
    return result[0]


def test_a_rate_limit_wait_on_a_frozen_clock_ends_rate_limited(make_runtime: Any) -> None:
    """A wait for a token on a clock whose sleep does not advance it gives up after a few tries."""
    clock = Frozen()
    skill = fake_skill("free")
    runtime = make_runtime(skill, contract=LIMITED, clock=clock)
    assert runtime.execute("free", {}).ok
    outcome = finishes(lambda: runtime.execute("free", {}))
    assert outcome.error.code == ErrorCode.RATE_LIMITED and "clock did not move" in outcome.error.message
    assert clock.sleeps <= 5 and clock.readings <= 50 and len(skill.calls) == 1


def test_an_async_rate_limit_wait_on_a_frozen_clock_ends_rate_limited(make_runtime: Any) -> None:
    """The same through `aexecute`: the wait awaits `asleep`, and gives up the same way."""
    clock = Frozen()
    runtime = make_runtime(fake_skill("free"), contract=LIMITED, clock=clock)

    async def twice() -> Any:
        await runtime.aexecute("free", {})
        return await runtime.aexecute("free", {})

    outcome = finishes(lambda: asyncio.run(twice()))
    assert outcome.error.code == ErrorCode.RATE_LIMITED and clock.sleeps <= 5


def test_rate_limit_waits_and_retry_delays_sleep_on_the_runtimes_clock(make_runtime: Any) -> None:
    """`execute` sleeps with `sleep` and `aexecute` with `asleep`, for a rate limit and for a retry."""
    clock = Sleeps()
    failing = fake_skill("failing", raises=SkillError(ErrorCode.HTTP_5XX, "503"))
    policy = Policy(retry=RetryPolicy(max_attempts=2, base_delay_ms=100, max_delay_ms=100))
    runtime = make_runtime(fake_skill("free"), failing, contract=LIMITED, clock=clock, policy=policy)
    runtime.execute("free", {})
    runtime.execute("free", {})  # waits a second for its token
    runtime.execute("failing", {})  # waits between its two attempts
    assert [kind for kind, _ in clock.slept] == ["sleep", "sleep"]
    assert clock.slept[0][1] == pytest.approx(1.0) and 0.05 <= clock.slept[1][1] <= 0.1
    clock.slept.clear()
    asyncio.run(runtime.aexecute("failing", {}))
    assert [kind for kind, _ in clock.slept] == ["asleep"]
