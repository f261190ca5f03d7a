"""A concurrency gate shared by sync callers (threads) and async callers (tasks, on any loop).

A released slot passes straight to the oldest waiter. A waiter that is cancelled or interrupted
after a slot was handed to it but before it could use it passes the slot on, so no slot is ever
lost (`max_concurrency=1` must never wedge every later call).
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Any

__all__ = ["Gate"]


class Gate:
    """At most `limit` holders at once. Pair every `acquire`/`wait_*` with one `release`."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._lock = threading.Lock()
        self._waiters: deque[Any] = deque()

    def try_acquire(self) -> bool:
        """Take a slot if one is free and nobody is queued before us."""
        with self._lock:
            if self.active < self.limit and not self._waiters:
                self.active += 1
                return True
            return False

    def release(self) -> None:
        """Give a slot back: to the oldest waiter still waiting, else to the pool."""
        with self._lock:
            while self._waiters:
                if self._hand_over(self._waiters.popleft()):
                    return  # the slot stays taken, now by the waiter
            self.active -= 1

    def _hand_over(self, waiter: Any) -> bool:
        if isinstance(waiter, _SyncWaiter):
            waiter.handed = True
            waiter.event.set()
            return True
        loop, future = waiter
        if future.done() or loop.is_closed():
            return False
        loop.call_soon_threadsafe(self._wake, future)
        return True

    def _wake(self, future: asyncio.Future[None]) -> None:
        if future.done():  # cancelled between hand-over and wake-up: pass the slot on
            self.release()
        else:
            future.set_result(None)

    def wait_sync(self) -> None:
        """Block until a slot is ours. Interrupted (KeyboardInterrupt), it takes nothing."""
        waiter = _SyncWaiter()
        with self._lock:
            if self.active < self.limit and not self._waiters:
                self.active += 1
                return
            self._waiters.append(waiter)
        try:
            waiter.event.wait()
        except BaseException:
            with self._lock:
                if not waiter.handed:
                    self._waiters.remove(waiter)
                    raise
            self.release()  # handed a slot we will never use
            raise

    async def wait_async(self) -> None:
        """Wait until a slot is ours. Cancelled, it takes nothing (or passes on what it was given)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self.active < self.limit and not self._waiters:
                self.active += 1
                return
            self._waiters.append((loop, future))
        try:
            await future
        except BaseException:
            if future.done() and not future.cancelled():
                self.release()  # the slot was handed to us but we were cancelled before using it
            raise


class _SyncWaiter:
    __slots__ = ("event", "handed")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.handed = False
