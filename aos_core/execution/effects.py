"""Effects and their two drivers.

The execution pipeline is one generator that does all the deciding and *yields* an effect
whenever it must wait: for an async skill, a skill in a worker thread, a sleep, a concurrency
slot or an approval. The sync driver performs effects by blocking (sync skills that run inline
never leave the caller's thread, so the sync API pays no event-loop cost); the async driver
awaits them. The pipeline's logic exists once.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import inspect
import threading
from collections.abc import Awaitable, Callable, Generator
from typing import Any

from aos_core.execution.concurrency import Gate

__all__ = [
    "Approve",
    "CallAsync",
    "CallThread",
    "Drivers",
    "Effect",
    "Pipeline",
    "SkillExited",
    "Sleep",
    "WaitSlot",
    "guard",
    "guard_call",
    "no_exit",
    "no_exit_async",
]

# Outcome of a call effect: ("ok", value) | ("raised", exc) | ("timeout", None) | ("cancelled", exc)
CallResult = tuple[str, Any]


class Sleep:
    __slots__ = ("clock", "seconds")

    def __init__(self, clock: Any, seconds: float) -> None:
        self.clock = clock
        self.seconds = seconds


class CallAsync:
    __slots__ = ("factory", "timeout")

    def __init__(self, factory: Callable[[], Awaitable[Any]], timeout: float) -> None:
        self.factory = factory
        self.timeout = timeout


class CallThread:
    __slots__ = ("args", "func", "timeout")

    def __init__(self, func: Callable[..., Any], args: tuple[Any, ...], timeout: float) -> None:
        self.func = func
        self.args = args
        self.timeout = timeout


class WaitSlot:
    __slots__ = ("gate",)

    def __init__(self, gate: Gate) -> None:
        self.gate = gate


class Approve:
    __slots__ = ("callback", "request")

    def __init__(self, callback: Callable[[Any], Any], request: Any) -> None:
        self.callback = callback
        self.request = request


Effect = Sleep | CallAsync | CallThread | WaitSlot | Approve
Pipeline = Generator[Effect, Any, Any]


class Drivers:
    """Runs pipelines: `run_sync` for the sync API, `run_async` for the async one.

    Owns the runtime's private event loop (for async skills called from sync code) and the
    worker threads for blocking sync skills.
    """

    def __init__(self, max_workers: int = 32) -> None:
        self._max_workers = max_workers
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    @property
    def pool(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = concurrent.futures.ThreadPoolExecutor(
                        self._max_workers, thread_name_prefix="aos-skill"
                    )
        return self._pool

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The runtime's own event loop, used by the sync API (never one loop per call)."""
        if self._loop is None or self._loop.is_closed():
            self._loop = asyncio.new_event_loop()
        return self._loop

    def run_on_loop(self, awaitable: Awaitable[Any]) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            if inspect.iscoroutine(awaitable):
                awaitable.close()
            raise RuntimeError("the sync Runtime API was called inside a running event loop; await the a* method")
        return self.loop.run_until_complete(awaitable)

    def run_sync(self, pipeline: Pipeline) -> Any:
        try:
            effect = next(pipeline)
            while True:
                effect = pipeline.send(self._perform_sync(effect))
        except StopIteration as stop:
            return stop.value

    async def run_async(self, pipeline: Pipeline) -> Any:
        try:
            effect = next(pipeline)
        except StopIteration as stop:
            return stop.value
        return await self.resume_async(pipeline, effect)

    async def resume_async(self, pipeline: Pipeline, effect: Effect) -> Any:
        """Drive a pipeline that was started elsewhere and stopped at `effect`."""
        try:
            while True:
                try:
                    result = await self._perform_async(effect)
                except asyncio.CancelledError as exc:
                    effect = pipeline.throw(exc)
                    continue
                effect = pipeline.send(result)
        except StopIteration as stop:
            return stop.value

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
        if self._loop is not None and not self._loop.is_closed() and not self._loop.is_running():
            self._loop.run_until_complete(self._loop.shutdown_asyncgens())
            self._loop.close()

    # -- sync --------------------------------------------------------------------------------
    def _perform_sync(self, effect: Effect) -> Any:
        if isinstance(effect, CallThread):
            future = self.pool.submit(effect.func, *effect.args)
            try:
                return ("ok", future.result(timeout=effect.timeout))
            except concurrent.futures.TimeoutError:
                future.cancel()  # abandoned: a running thread cannot be stopped, its result is ignored
                return ("timeout", None)
            except asyncio.CancelledError as exc:
                return ("cancelled", exc)
            except Exception as exc:  # noqa: BLE001 - the skill's exception is data for the pipeline
                return ("raised", exc)
        if isinstance(effect, CallAsync):
            return self.run_on_loop(_call_async(effect))
        if isinstance(effect, Sleep):
            sleep = getattr(effect.clock, "sleep", None)
            if sleep is not None:
                sleep(effect.seconds)
            return None
        if isinstance(effect, WaitSlot):
            effect.gate.wait_sync()
            return None
        if isinstance(effect, Approve):
            return _approval(lambda: self._resolve_sync(effect.callback(effect.request)))
        raise TypeError(f"unknown effect {effect!r}")

    def _resolve_sync(self, value: Any) -> Any:
        return self.run_on_loop(value) if inspect.isawaitable(value) else value

    # -- async -------------------------------------------------------------------------------
    async def _perform_async(self, effect: Effect) -> Any:
        if isinstance(effect, CallAsync):
            return await _call_async(effect)
        if isinstance(effect, CallThread):
            loop = asyncio.get_running_loop()
            future = loop.run_in_executor(self.pool, effect.func, *effect.args)
            try:
                async with asyncio.timeout(effect.timeout):
                    value = await future
                return ("ok", value)
            except TimeoutError:
                return ("timeout", None)
            except asyncio.CancelledError as exc:
                if _being_cancelled():
                    raise
                return ("cancelled", exc)
            except Exception as exc:  # noqa: BLE001 - the skill's exception is data for the pipeline
                return ("raised", exc)
        if isinstance(effect, Sleep):
            asleep = getattr(effect.clock, "asleep", None)
            if asleep is not None:
                await asleep(effect.seconds)
            return None
        if isinstance(effect, WaitSlot):
            await effect.gate.wait_async()
            return None
        if isinstance(effect, Approve):
            try:
                value = effect.callback(effect.request)
                if inspect.isawaitable(value):
                    value = await value
            except Exception as exc:  # noqa: BLE001 - a failing approver means "not approved"
                return exc
            return value is True
        raise TypeError(f"unknown effect {effect!r}")


async def _call_async(effect: CallAsync) -> CallResult:
    try:
        async with asyncio.timeout(effect.timeout):  # in this task: wait_for would add a task per call
            value = await effect.factory()
        return ("ok", value)
    except TimeoutError:
        return ("timeout", None)
    except asyncio.CancelledError as exc:
        if _being_cancelled():
            raise
        return ("cancelled", exc)
    except Exception as exc:  # noqa: BLE001 - the skill's exception is data for the pipeline
        return ("raised", exc)


def _being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _approval(ask: Callable[[], Any]) -> Any:
    try:
        return ask() is True
    except Exception as exc:  # noqa: BLE001 - a failing approver means "not approved"
        return exc


class SkillExited(Exception):
    """A skill called `sys.exit()`; the host process keeps running and the call fails."""

    def __init__(self, exc: SystemExit) -> None:
        super().__init__(f"the skill called sys.exit({exc.code!r})")


def no_exit(func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except SystemExit as exc:
        raise SkillExited(exc) from None


async def no_exit_async(awaitable: Any) -> Any:
    try:
        return await awaitable
    except SystemExit as exc:  # asyncio would otherwise re-raise it out of the event loop
        raise SkillExited(exc) from None


def guard(effect: Any) -> Any:
    """Yield `effect`; True if the caller was cancelled while waiting."""
    try:
        yield effect
    except asyncio.CancelledError:
        return True
    return False


def guard_call(effect: Any) -> Any:
    try:
        result = yield effect
    except asyncio.CancelledError as exc:
        return ("cancelled", exc)
    return result
