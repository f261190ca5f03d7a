"""Pooled objects of a `Runtime` (HTTP clients and the like), per event loop, always closed.

Async clients are bound to the loop that made them, so an object is pooled per loop, and closed
when that loop shuts down its async generators: a small async generator started on the loop
closes them in its `finally`. `asyncio.run` always shuts them down, and so does the runtime's
own loop when the `Runtime` closes; so twenty `asyncio.run(runtime.aexecute(...))` leave no
client behind. Objects made outside any loop are closed by `Runtime.close()`.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

__all__ = ["ResourcePool"]

T = TypeVar("T")


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class ResourcePool:
    """Objects by name and by the loop using them."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, int], tuple[Any, asyncio.AbstractEventLoop | None]] = {}
        self._closers: dict[int, Any] = {}  # id(loop) -> the async generator closing that loop's objects
        self._starting: set[Any] = set()  # tasks starting those generators (asyncio keeps only weak references)
        self._lock = threading.Lock()

    def get(self, key: str, factory: Callable[[], T]) -> T:
        loop = _running_loop()
        slot = (key, id(loop) if loop is not None else 0)
        found = self._items.get(slot)
        if found is not None and (loop is None or found[1] is loop):
            item: T = found[0]
            return item
        with self._lock:
            found = self._items.get(slot)
            if found is not None and (loop is None or found[1] is loop):
                return found[0]
            item = factory()
            self._items[slot] = (item, loop)
            if loop is not None and id(loop) not in self._closers:
                closer = self._close_at_shutdown(loop)
                self._closers[id(loop)] = closer
                start = asyncio.ensure_future(closer.__anext__(), loop=loop)  # runs up to its `yield`
                self._starting.add(start)
                start.add_done_callback(self._starting.discard)
        return item

    async def _close_at_shutdown(self, loop: asyncio.AbstractEventLoop) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await self._close_loop(loop)

    async def _close_loop(self, loop: asyncio.AbstractEventLoop | None) -> list[str]:
        errors: list[str] = []
        with self._lock:
            mine = [(slot, item) for slot, (item, owner) in self._items.items() if owner is loop]
            for slot, _ in mine:
                del self._items[slot]
            if loop is not None:
                self._closers.pop(id(loop), None)
        for (key, _), item in mine:
            try:
                closer = getattr(item, "aclose", None) or getattr(item, "close", None)
                if callable(closer):
                    result = closer()
                    if inspect.isawaitable(result):
                        await result
            except Exception as exc:  # noqa: BLE001 - report every close failure, keep closing the rest
                errors.append(f"{key}: {type(exc).__name__}: {exc}")
        return errors

    async def aclose(self) -> list[str]:
        """Close what belongs to the running loop and what belongs to no loop; drop what is
        bound to loops that are already closed (they cannot be closed any more)."""
        here = _running_loop()
        errors = await self._close_loop(here)
        if here is not None:
            errors += await self._close_loop(None)
        self._forget_dead_loops()
        return errors

    def close_unbound(self) -> list[str]:
        """Close the objects made outside any loop that close without one."""
        errors: list[str] = []
        with self._lock:
            mine = [(slot, item) for slot, (item, owner) in self._items.items() if owner is None]
            for slot, _ in mine:
                del self._items[slot]
        for (key, _), item in mine:
            closer = getattr(item, "close", None)
            if callable(closer) and not inspect.iscoroutinefunction(closer):
                try:
                    closer()
                except Exception as exc:  # noqa: BLE001 - report every close failure
                    errors.append(f"{key}: {type(exc).__name__}: {exc}")
        self._forget_dead_loops()
        return errors

    def _forget_dead_loops(self) -> None:
        with self._lock:
            for slot, (_, owner) in list(self._items.items()):
                if owner is not None and owner.is_closed():
                    del self._items[slot]

    def __len__(self) -> int:
        return len(self._items)
