"""How a skill is called, and how the pipeline waits: two strategies for one pipeline.

The pipeline (`pipeline.py`) is one `async def`. Everything in it that may wait goes through a
`Waits` object: `AsyncWaits` really awaits (for `aexecute` and the run engine); `SyncWaits`
blocks the calling thread instead, so the same coroutine, driven by `drive_sync`, finishes
without ever suspending and the sync API pays no event-loop round trip for an inline skill.

Async work that a sync caller needs (an async skill, an async approver) runs on the runtime's
own event loop in a daemon thread (`LoopThread`): one loop per `Runtime`, safe from any number
of threads. Blocking sync skills run in daemon worker threads (`Workers`), so a call abandoned at
its timeout can never keep the interpreter from exiting; its `ctx.cancelled` is set.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import queue
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from aos_core.budget.concurrency import Gate
from aos_core.execution.deadlines import Deadline

__all__ = [
    "AsyncWaits",
    "SyncMisuse",
    "CallResult",
    "LoopThread",
    "SkillExited",
    "SkillRaisedBase",
    "SyncWaits",
    "Waits",
    "Workers",
    "call_inline",
    "drive_sync",
]

# What calling a skill gave: ("ok", value) | ("raised", exception) | ("timeout", None) | ("cancelled", exc)
CallResult = tuple[str, Any]


class SyncMisuse(RuntimeError):
    """The sync API was called where it would block an event loop: use the a* method."""


class SkillExited(Exception):
    """A skill called `sys.exit()`; the host process keeps running and the call fails."""

    def __init__(self, exc: SystemExit) -> None:
        super().__init__(f"the skill called sys.exit({exc.code!r})")


class SkillRaisedBase(Exception):
    """A skill raised a `BaseException` that is not an `Exception` (GeneratorExit, a custom one)."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(f"the skill raised {type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        self.original_type = f"{type(exc).__module__}.{type(exc).__qualname__}"


def _captured(exc: BaseException) -> CallResult:
    """A skill's exception as a call result; KeyboardInterrupt is never captured."""
    if isinstance(exc, SystemExit):
        return ("raised", SkillExited(exc))
    if isinstance(exc, asyncio.CancelledError):
        return ("cancelled", exc)
    if isinstance(exc, Exception):
        return ("raised", exc)
    return ("raised", SkillRaisedBase(exc))


def call_inline(execute: Callable[..., Any], model: Any, ctx: Any, clock: Any, deadline_s: float) -> CallResult:
    """A sync skill that does not block, called on this thread; its timeout is checked when it returns."""
    begun = clock.monotonic()
    try:
        value = execute(model, ctx)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the skill's exception is data for the pipeline
        return _captured(exc)
    if clock.monotonic() - begun > deadline_s:
        ctx.cancel()
        return ("timeout", None)
    return ("ok", value)


def _in_thread(execute: Callable[..., Any], model: Any, ctx: Any) -> CallResult:
    try:
        return ("ok", execute(model, ctx))
    except BaseException as exc:  # noqa: BLE001 - whatever a skill raises in its thread is data
        return _captured(exc)


async def _awaited(execute: Callable[..., Awaitable[Any]], model: Any, ctx: Any, deadline_s: float) -> CallResult:
    deadline = Deadline(deadline_s)  # in this task: wait_for would add a task per call
    try:
        value = await execute(model, ctx)
    except asyncio.CancelledError as exc:
        if deadline.stop():
            ctx.cancel()
            return ("timeout", None)
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            ctx.cancel()
            raise  # our caller is being cancelled: let it be
        return ("cancelled", exc)
    except KeyboardInterrupt:
        deadline.stop()
        raise
    except BaseException as exc:  # noqa: BLE001 - the skill's exception is data for the pipeline
        deadline.stop()
        return _captured(exc)
    deadline.stop()
    return ("ok", value)


class Waits(Protocol):
    """Everything the pipeline may wait for."""

    async def sleep(self, clock: Any, seconds: float) -> None: ...

    async def slot(self, gate: Gate) -> None: ...

    async def call_thread(self, execute: Callable[..., Any], model: Any, ctx: Any, deadline_s: float) -> CallResult: ...

    def call_async(
        self, execute: Callable[..., Any], model: Any, ctx: Any, deadline_s: float
    ) -> Awaitable[CallResult]: ...

    async def resolve(self, value: Any) -> Any: ...


class AsyncWaits:
    """Waiting by awaiting, on the running loop."""

    def __init__(self, workers: Workers) -> None:
        self.workers = workers

    async def sleep(self, clock: Any, seconds: float) -> None:
        await clock.asleep(seconds)

    async def slot(self, gate: Gate) -> None:
        await gate.wait_async()

    async def call_thread(self, execute: Callable[..., Any], model: Any, ctx: Any, deadline_s: float) -> CallResult:
        future = asyncio.wrap_future(self.workers.submit(_in_thread, execute, model, ctx))
        deadline = Deadline(deadline_s)
        try:
            result: CallResult = await future  # cancelling it drops the job if not yet started
        except asyncio.CancelledError:
            ctx.cancel()  # the thread goes on until the skill notices; its result is ignored
            if deadline.stop():
                return ("timeout", None)
            raise
        except BaseException:
            deadline.stop()
            raise
        deadline.stop()
        return result

    def call_async(self, execute: Callable[..., Any], model: Any, ctx: Any, deadline_s: float) -> Awaitable[CallResult]:
        # the call's own coroutine, awaited by the pipeline: no coroutine around it (~1k of ~150k
        # instructions a trivial async call at 64 in flight, callgrind)
        return _awaited(execute, model, ctx, deadline_s)

    async def resolve(self, value: Any) -> Any:
        return await value if inspect.isawaitable(value) else value


class SyncWaits:
    """Waiting by blocking this thread; async work goes to the runtime's loop thread."""

    def __init__(self, loop: LoopThread, workers: Workers) -> None:
        self.loop = loop
        self.workers = workers

    async def sleep(self, clock: Any, seconds: float) -> None:
        clock.sleep(seconds)

    async def slot(self, gate: Gate) -> None:
        gate.wait_sync()

    async def call_thread(self, execute: Callable[..., Any], model: Any, ctx: Any, deadline_s: float) -> CallResult:
        future = self.workers.submit(_in_thread, execute, model, ctx)
        try:
            result: CallResult = future.result(timeout=deadline_s)
            return result
        except concurrent.futures.TimeoutError:
            ctx.cancel()
            return ("timeout", None)
        except BaseException:
            ctx.cancel()
            raise

    async def call_async(self, execute: Callable[..., Any], model: Any, ctx: Any, deadline_s: float) -> CallResult:
        try:
            result: CallResult = self.loop.run(_awaited(execute, model, ctx, deadline_s))
            return result
        except BaseException:
            ctx.cancel()
            raise

    async def resolve(self, value: Any) -> Any:
        return self.loop.run(_as_coroutine(value)) if inspect.isawaitable(value) else value


async def _as_coroutine(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def drive_sync(coroutine: Coroutine[Any, Any, Any]) -> Any:
    """Run a pipeline coroutine that uses `SyncWaits` to completion on this thread."""
    try:
        coroutine.send(None)
    except StopIteration as stop:
        return stop.value
    coroutine.close()
    raise RuntimeError("a pipeline driven synchronously tried to suspend; it must use SyncWaits")


class LoopThread:
    """The runtime's own event loop, running in a daemon thread, started on first use."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        loop = self._loop
        if loop is None:
            with self._lock:
                if self._loop is None:
                    ready = threading.Event()
                    fresh = asyncio.new_event_loop()
                    thread = threading.Thread(
                        target=self._serve, args=(fresh, ready), name="aos-runtime-loop", daemon=True
                    )
                    thread.start()
                    ready.wait()
                    self._loop, self._thread = fresh, thread
                loop = self._loop
        return loop

    @staticmethod
    def _serve(loop: asyncio.AbstractEventLoop, ready: threading.Event) -> None:
        asyncio.set_event_loop(loop)
        loop.call_soon(ready.set)
        loop.run_forever()

    @property
    def started(self) -> bool:
        return self._loop is not None

    def in_loop_thread(self) -> bool:
        return self._thread is not None and threading.current_thread() is self._thread

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run `coroutine` on the loop and wait for it. Interrupted (Ctrl-C), the coroutine is
        cancelled and given time to clean up (release its holds, record an interrupted run)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            coroutine.close()
            raise SyncMisuse("the sync Runtime API was called inside a running event loop; await the a* method")
        if self.in_loop_thread():
            coroutine.close()
            raise SyncMisuse("the sync Runtime API was called from the runtime's own loop; await the a* method")
        finished = threading.Event()

        async def runner() -> Any:
            try:
                return (True, await coroutine)
            except (KeyboardInterrupt, SystemExit) as exc:
                # asyncio re-raises these out of run_forever, which would kill the loop thread and
                # leave this caller waiting for ever: carry them to the caller's thread instead
                return (False, exc)
            finally:
                finished.set()

        future = asyncio.run_coroutine_threadsafe(runner(), self.loop)
        try:
            returned, value = future.result()
        except BaseException:
            if not future.done():
                future.cancel()
                finished.wait(30.0)
            raise
        if not returned:
            raise value
        return value

    def close(self) -> None:
        """Stop the loop after what is scheduled on it finished closing; then close it."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is None or thread is None:
            return
        if thread is not threading.current_thread():
            asyncio.run_coroutine_threadsafe(loop.shutdown_asyncgens(), loop).result(10.0)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(10.0)
        if not loop.is_running():
            loop.close()


class Workers:
    """Daemon threads for blocking sync skills, reused while busy ones are abandoned."""

    def __init__(self, max_idle: int = 8) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._idle = 0
        self._max_idle = max_idle
        self._lock = threading.Lock()
        self._closed = False

    def submit(self, func: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._jobs.put((future, func, args))
        with self._lock:
            if self._idle > 0:
                self._idle -= 1
                return future
        threading.Thread(target=self._work, name="aos-skill", daemon=True).start()
        return future

    def _work(self) -> None:
        while True:
            future, func, args = self._jobs.get()
            if func is None:
                return
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(func(*args))
                except BaseException as exc:  # noqa: BLE001 - delivered to whoever waits on the future
                    future.set_exception(exc)
            with self._lock:
                if self._closed or self._idle >= self._max_idle:
                    return
                self._idle += 1

    def close(self) -> None:
        """Let idle threads end; busy ones end when their skill returns (they are daemons)."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, 0
        for _ in range(idle):
            self._jobs.put((None, None, None))
