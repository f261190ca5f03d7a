"""The concurrency limit: a slot is never lost, whatever happens to the call holding or awaiting it."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from aos_core import ResourceContract
from aos_core.testing import fake_skill


def test_a_slot_handed_to_a_cancelled_waiter_is_passed_on(make_runtime: Any) -> None:
    """max_concurrency=1: the slot goes to a waiting call whose task is cancelled before it resumes;
    the slot must come back, so a later call still runs (instead of waiting for ever)."""
    started = asyncio.Event()
    release = asyncio.Event()

    async def hold(params: Any, ctx: Any) -> dict[str, Any]:
        if params.first:
            started.set()
            await release.wait()
        return {}

    runtime = make_runtime(fake_skill("hold", hold), contract=ResourceContract(max_concurrency=1))

    async def main() -> Any:
        first = asyncio.create_task(runtime.aexecute("hold", {"first": True}))
        await started.wait()
        waiter = asyncio.create_task(runtime.aexecute("hold", {"first": False}))
        for _ in range(5):
            await asyncio.sleep(0)  # the waiter is now queued on the gate
        release.set()
        # `first` ends and releases the slot, handing it to `waiter`: the hand-over wakes `waiter`
        # with a callback queued after ours, so this cancels it after it got the slot, before it ran
        await first
        waiter.cancel()
        await asyncio.gather(waiter, return_exceptions=True)  # CancelledError, as asyncio requires
        return await asyncio.wait_for(runtime.aexecute("hold", {"first": False}), timeout=5)

    later = asyncio.run(main())
    assert later.ok


def test_a_cancelled_waiter_that_never_got_a_slot_takes_nothing(make_runtime: Any) -> None:
    """A call cancelled while still queued for a slot leaves the queue; the slot goes to the next."""
    started = asyncio.Event()
    release = asyncio.Event()

    async def hold(params: Any, ctx: Any) -> dict[str, Any]:
        if params.first:
            started.set()
            await release.wait()
        return {}

    runtime = make_runtime(fake_skill("hold", hold), contract=ResourceContract(max_concurrency=1))

    async def main() -> list[Any]:
        first = asyncio.create_task(runtime.aexecute("hold", {"first": True}))
        await started.wait()
        cancelled = asyncio.create_task(runtime.aexecute("hold", {"first": False}))
        queued = asyncio.create_task(runtime.aexecute("hold", {"first": False}))
        await asyncio.sleep(0)
        cancelled.cancel()
        release.set()
        return await asyncio.wait_for(asyncio.gather(first, queued), timeout=5)

    assert all(o.ok for o in asyncio.run(main()))


def test_threads_over_the_limit_each_get_a_slot_one_at_a_time(make_runtime: Any) -> None:
    """Threads over the limit wait their turn; every one of them gets a slot in the end, none at once."""
    inside = [0, 0]
    lock = threading.Lock()

    def work(params: Any, ctx: Any) -> dict[str, Any]:
        with lock:
            inside[0] += 1
            inside[1] = max(inside[1], inside[0])
        time.sleep(0.002)
        with lock:
            inside[0] -= 1
        return {}

    runtime = make_runtime(fake_skill("work", work, blocking=True), contract=ResourceContract(max_concurrency=1))
    threads = [threading.Thread(target=runtime.execute, args=("work", {})) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert inside[1] == 1 and not any(t.is_alive() for t in threads)
