"""Per-runtime pooled objects (HTTP clients and the like), one per event loop, closed with the runtime."""

from __future__ import annotations

import asyncio
import inspect
import threading
from collections.abc import Callable
from typing import Any, TypeVar

__all__ = ["ResourcePool"]

T = TypeVar("T")


def _loop_key() -> int:
    try:
        return id(asyncio.get_running_loop())
    except RuntimeError:
        return 0


class ResourcePool:
    """Objects keyed by name and by the event loop using them (async clients are loop-bound)."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, int], Any] = {}
        self._lock = threading.Lock()

    def get(self, key: str, factory: Callable[[], T]) -> T:
        slot = (key, _loop_key())
        item = self._items.get(slot)
        if item is None:
            with self._lock:
                item = self._items.get(slot)
                if item is None:
                    item = factory()
                    self._items[slot] = item
        return item

    async def aclose(self) -> list[str]:
        """Close what was opened on this loop or outside any loop; returns close errors as text."""
        errors: list[str] = []
        here = _loop_key()
        for (key, loop), item in list(self._items.items()):
            if loop not in (here, 0):
                continue
            del self._items[(key, loop)]
            try:
                closer = getattr(item, "aclose", None)
                if closer is not None:
                    result = closer()
                    if inspect.isawaitable(result):
                        await result
                elif callable(getattr(item, "close", None)):
                    item.close()
            except Exception as exc:  # noqa: BLE001 - report every close failure, keep closing the rest
                errors.append(f"{key}: {type(exc).__name__}: {exc}")
        return errors

    def close_sync(self) -> list[str]:
        """Close the objects that need no event loop."""
        errors: list[str] = []
        for (key, loop), item in list(self._items.items()):
            if loop != 0:
                continue
            closer = getattr(item, "close", None)
            if callable(closer) and not inspect.iscoroutinefunction(closer):
                del self._items[(key, loop)]
                try:
                    closer()
                except Exception as exc:  # noqa: BLE001 - report every close failure
                    errors.append(f"{key}: {type(exc).__name__}: {exc}")
        return errors

    def __len__(self) -> int:
        return len(self._items)
