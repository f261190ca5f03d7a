"""A call's deadline (`aos_core.execution.deadlines`): deadlines of one duration share one queue
and one timer, yet each fires at its own time, cancels only its own task, and nothing is kept
once the calls ended."""

from __future__ import annotations

import asyncio
from typing import Any

from aos_core.execution import deadlines
from aos_core.execution.deadlines import Deadline


async def _held(seconds: float, deadline_s: float, log: list[Any], name: str, after: float = 0.0) -> None:
    """After `after` seconds, await `seconds` under a deadline of `deadline_s`; log whether the
    deadline cut it short."""
    if after:
        await asyncio.sleep(after)
    deadline = Deadline(deadline_s)
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        log.append((name, "timeout" if deadline.stop() else "cancelled"))
        return
    deadline.stop()
    log.append((name, "in time"))


def test_each_deadline_fires_at_its_own_time_after_earlier_ones_ended_in_time() -> None:
    """The first deadline of a queue ends in time; the ones armed after it still fire, each when
    it is due (slow-2's after the timer fired for slow-1's), and the queue is gone once the last
    one fired."""

    async def main() -> list[Any]:
        log: list[Any] = []
        await asyncio.wait_for(
            asyncio.gather(
                _held(0.001, 0.1, log, "quick"),
                _held(5, 0.1, log, "slow-1"),
                _held(0.01, 0.1, log, "medium", after=0.02),
                _held(5, 0.1, log, "slow-2", after=0.05),
            ),
            2,
        )
        log.append(("queues", len(deadlines._QUEUES)))
        return log

    assert asyncio.run(main()) == [
        ("quick", "in time"),
        ("medium", "in time"),
        ("slow-1", "timeout"),
        ("slow-2", "timeout"),
        ("queues", 0),
    ]


def test_a_caller_cancelled_under_a_deadline_is_cancelled_not_timed_out() -> None:
    async def main() -> list[Any]:
        log: list[Any] = []
        task = asyncio.ensure_future(_held(5, 1.0, log, "held"))
        await asyncio.sleep(0.01)
        task.cancel()
        await task
        return [*log, ("queues", len(deadlines._QUEUES))]

    assert asyncio.run(main()) == [("held", "cancelled"), ("queues", 0)]


def test_ended_deadlines_behind_a_slow_one_are_not_kept_without_bound() -> None:
    """A slow call at the head of the queue: the thousands that end in time behind it are
    dropped as the queue grows, not kept until the slow one's deadline."""

    async def main() -> tuple[int, int]:
        slow = asyncio.ensure_future(_held(5, 30.0, [], "slow"))
        await asyncio.sleep(0)
        for _ in range(5000):
            await _held(0, 30.0, [], "quick")
        (queue,) = deadlines._QUEUES.values()
        size = len(queue.due)
        slow.cancel()
        await slow
        return size, len(deadlines._QUEUES)

    size, left = asyncio.run(main())
    assert size <= 2 + 64 and left == 0


def test_the_queue_of_a_loop_closed_under_a_waiting_deadline_is_dropped() -> None:
    """A loop closed while a task still waited under a deadline: the deadline can never fire or
    end, and its queue kept the loop and the task alive; a later sweep drops it."""
    import gc
    import weakref

    closed = asyncio.new_event_loop()

    async def waits() -> None:
        Deadline(1234.5)
        await asyncio.sleep(3600)

    task = closed.create_task(waits())
    closed.run_until_complete(asyncio.sleep(0.01))  # the task is waiting, its deadline armed
    closed.close()
    gone = weakref.ref(closed)
    assert any(key[0] is closed for key in deadlines._QUEUES)
    task._log_destroy_pending = False  # type: ignore[attr-defined]  # it was never meant to finish
    del closed, task

    async def many() -> None:  # queues enough of another loop's to reach a sweep
        held = [Deadline(0.001 * i + 60) for i in range(deadlines._SWEEP_AT[0] + 1)]
        for deadline in held:
            deadline.stop()

    asyncio.run(many())
    gc.collect()
    assert gone() is None
    assert not deadlines._QUEUES
