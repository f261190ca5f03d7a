"""Clocks: the system clock, a virtual clock for tests, and the recording/replaying pair.

A skill reads time only through `ctx.clock`. In a run every reading is recorded, and a
replay serves the recorded readings back in order.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = ["RecordingClock", "ReplayClock", "SystemClock", "VirtualClock", "check_clock"]


def check_clock(clock: Any) -> Any:
    """`clock` if it has everything the `Clock` contract asks; TypeError naming what is missing."""
    missing = [name for name in ("now", "monotonic", "sleep", "asleep") if not callable(getattr(clock, name, None))]
    if missing:
        raise TypeError(
            f"clock {type(clock).__name__} lacks {', '.join(missing)}; a clock needs now(), monotonic(), "
            "sleep(seconds) and async asleep(seconds) (see aos_core.SkillContext and VirtualClock)"
        )
    return clock


class SystemClock:
    """Real time: UTC wall clock and the process monotonic clock; sleeping really sleeps."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    # the builtin itself: read several times a call, and a method would add a Python frame each time
    monotonic = staticmethod(time.monotonic)

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class VirtualClock:
    """Time that moves only when told: `sleep` advances it instantly. For tests and replays."""

    def __init__(self, start: datetime | None = None, tick: float = 0.0) -> None:
        self._start = start or datetime(2026, 1, 1, tzinfo=UTC)
        self._offset = 0.0
        self._tick = tick

    def now(self) -> datetime:
        value = self._start + timedelta(seconds=self._offset)
        self._offset += self._tick
        return value

    def monotonic(self) -> float:
        value = self._offset
        self._offset += self._tick
        return value

    def advance(self, seconds: float) -> None:
        self._offset += max(0.0, seconds)

    def sleep(self, seconds: float) -> None:
        self.advance(seconds)

    async def asleep(self, seconds: float) -> None:
        self.advance(seconds)


class RecordingClock:
    """Wraps a clock and records every reading a skill takes, for the run's trace."""

    __slots__ = ("base", "readings")

    def __init__(self, base: Any) -> None:
        self.base = base
        self.readings: list[list[Any]] = []

    def now(self) -> datetime:
        value: datetime = self.base.now()
        self.readings.append(["now", value.isoformat()])
        return value

    def monotonic(self) -> float:
        value: float = self.base.monotonic()
        self.readings.append(["monotonic", value])
        return value

    def sleep(self, seconds: float) -> None:
        self.base.sleep(seconds)

    async def asleep(self, seconds: float) -> None:
        await self.base.asleep(seconds)


class ReplayClock:
    """Serves recorded readings in order; `diverged` says why it could not."""

    __slots__ = ("_index", "_readings", "diverged")

    def __init__(self, readings: list[list[Any]]) -> None:
        self._readings = readings
        self._index = 0
        self.diverged: str | None = None

    def _next(self, kind: str) -> Any:
        if self._index >= len(self._readings):
            self.diverged = self.diverged or f"read the clock ({kind}) more often than recorded ({len(self._readings)})"
            return None
        recorded_kind, value = self._readings[self._index]
        self._index += 1
        if recorded_kind != kind:
            self.diverged = self.diverged or f"reading {self._index} was {recorded_kind}, now {kind}"
            return None
        return value

    def now(self) -> datetime:
        value = self._next("now")
        return datetime.fromisoformat(value) if value is not None else datetime(1970, 1, 1, tzinfo=UTC)

    def monotonic(self) -> float:
        value = self._next("monotonic")
        return float(value) if value is not None else 0.0

    def sleep(self, seconds: float) -> None:
        """A replay never really sleeps."""

    async def asleep(self, seconds: float) -> None:
        """A replay never really sleeps."""

    @property
    def readings(self) -> list[list[Any]]:
        """The readings served so far, as a `RecordingClock` would have recorded them."""
        return self._readings[: self._index]

    def finish(self) -> str | None:
        """Why the replay diverged, including readings recorded but never taken."""
        if self.diverged is None and self._index < len(self._readings):
            self.diverged = f"read the clock {self._index} times, recorded {len(self._readings)}"
        return self.diverged
