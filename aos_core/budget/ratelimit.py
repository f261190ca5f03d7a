"""Per-skill token buckets: `per_second` refill, `burst` capacity."""

from __future__ import annotations

import threading

from aos_core.contracts.resources import RateLimit

__all__ = ["TokenBucket"]

_EPSILON = 1e-9
_MIN_WAIT = 1e-6


class TokenBucket:
    """A token bucket driven by the caller's clock readings (so tests and replays control time)."""

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.limit = limit
        self._tokens = float(limit.burst)
        self._at = now
        self._lock = threading.Lock()

    def take(self, now: float) -> float:
        """Take one token: 0.0 when taken, else the seconds to wait until one is available."""
        with self._lock:
            elapsed = max(0.0, now - self._at)
            self._tokens = min(float(self.limit.burst), self._tokens + elapsed * self.limit.per_second)
            self._at = max(self._at, now)
            if self._tokens >= 1.0 - _EPSILON:  # float refills land a hair short of a whole token
                self._tokens = max(0.0, self._tokens - 1.0)
                return 0.0
            return max((1.0 - self._tokens) / self.limit.per_second, _MIN_WAIT)
