"""Deadlines on the running task, as `asyncio.timeout` arms them, without a timer per call.

`asyncio.timeout` puts one timer handle per call in the loop's heap; a call that ends in time
cancels it, and the heap keeps the cancelled handle until it is swept. At 64 calls in flight that
was ~21k of the ~150k instructions of a trivial async call (callgrind): the handle, its context,
and ~8 comparisons (in Python) per heap push. Here the deadlines of one duration on one loop wait
in a queue, in the order they were armed, which is the order they fall due, and one handle is
armed for the earliest: arming is an append, ending in time marks the deadline and drops the
ended ones at the head of the queue.

The rule for what a `CancelledError` means is `asyncio.timeout`'s: it is the deadline's own when
the deadline fired and nobody else asked to cancel the task meanwhile (`Deadline.stop()`).
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Deadline"]

# the queues in use, per (loop, duration); a queue leaves when its last deadline ended, or, for a
# loop closed while a task was still waiting under a deadline, at the next sweep (`_sweep`)
_QUEUES: dict[tuple[asyncio.AbstractEventLoop, float], _Queue] = {}
_SWEEP_AT = [64]  # the number of queues at which the next new queue sweeps first


def _sweep() -> None:
    """Drop the queues of closed loops (their deadlines can never fire or end, and kept the loop
    and its tasks alive); called as a new queue is made, once the number of queues has doubled
    since the last sweep, so its cost is spread over the queues made."""
    for key in [key for key in _QUEUES if key[0].is_closed()]:
        del _QUEUES[key]
    _SWEEP_AT[0] = 2 * len(_QUEUES) + 64


class Deadline:
    """A deadline `deadline_s` from now on the running task: when it passes, the task is cancelled."""

    __slots__ = ("armed", "cancelling", "fired", "queue", "task", "when")

    def __init__(self, deadline_s: float) -> None:
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a deadline needs a running task")
        loop = task.get_loop()
        self.task: asyncio.Task[object] | None = task
        self.cancelling = task.cancelling()
        self.fired = False
        self.armed = True
        self.when = loop.time() + deadline_s
        queue = _QUEUES.get((loop, deadline_s))
        if queue is None:
            if len(_QUEUES) >= _SWEEP_AT[0]:
                _sweep()
            queue = _QUEUES[(loop, deadline_s)] = _Queue(loop, deadline_s)
        self.queue = queue
        queue.add(self)

    def stop(self) -> bool:
        """Disarm; True when the deadline fired and the task's cancellation is its own (undone here)."""
        task = self.task
        if task is None:
            return False  # stopped already
        self.task = None  # an ended deadline waiting in its queue holds no task
        if self.armed:
            self.armed = False
            self.queue.ended()
        if not self.fired:
            return False
        return task.uncancel() <= self.cancelling

    def _fire(self) -> None:
        self.armed = False
        self.fired = True
        if self.task is not None:
            self.task.cancel()


class _Queue:
    """The deadlines of one duration on one loop, earliest first, with one timer handle."""

    __slots__ = ("due", "handle", "key", "live", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, duration: float) -> None:
        self.loop = loop
        self.key = (loop, duration)
        self.due: deque[Deadline] = deque()
        self.live = 0  # deadlines armed (the queue may also hold ended ones, behind the head)
        self.handle: asyncio.TimerHandle | None = None

    def add(self, deadline: Deadline) -> None:
        self.due.append(deadline)
        self.live += 1
        if self.handle is None:
            self.handle = self.loop.call_at(deadline.when, self._run)

    def ended(self) -> None:
        """A deadline was stopped in time: drop the ended ones at the head; keep the queue at most
        about twice what is armed (a slow call at the head holds the ended ones behind it)."""
        self.live -= 1
        due = self.due
        while due and not due[0].armed:
            due.popleft()
        if not self.live:
            self._close()
        elif len(due) > 2 * self.live + 64:
            self.due = deque(d for d in due if d.armed)

    def _run(self) -> None:
        """The earliest deadline may have passed: fire every one that has, then wait for the next."""
        self.handle = None
        now = self.loop.time()
        due = self.due
        while due:
            first = due[0]
            if first.armed:
                if first.when > now:
                    self.handle = self.loop.call_at(first.when, self._run)
                    return
                self.live -= 1
                first._fire()
            due.popleft()
        self._close()

    def _close(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.handle = None
        self.due.clear()
        if _QUEUES.get(self.key) is self:
            del _QUEUES[self.key]
