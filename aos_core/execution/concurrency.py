"""A concurrency gate shared by sync callers (threads) and async callers (tasks)."""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Any

__all__ = ["Gate"]


class Gate:
    """At most `limit` holders; a released slot passes straight to the oldest waiter."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.active = 0
        self._lock = threading.Lock()
        self._waiters: deque[Any] = deque()

    def try_acquire(self) -> bool:
        with self._lock:
            if self.active < self.limit and not self._waiters:
                self.active += 1
                return True
            return False

    def release(self) -> None:
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if self._hand_over(waiter):
                    return
            self.active -= 1

    def _hand_over(self, waiter: Any) -> bool:
        if isinstance(waiter, threading.Event):
            waiter.set()
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
        event = threading.Event()
        with self._lock:
            if self.active < self.limit and not self._waiters:
                self.active += 1
                return
            self._waiters.append(event)
        event.wait()

    async def wait_async(self) -> None:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            if self.active < self.limit and not self._waiters:
                self.active += 1
                return
            self._waiters.append((loop, future))
        await future
