"""Per-skill token buckets: `per_second` refill, `burst` capacity.

`take_token` is the bucket's arithmetic, once: a `TokenBucket` applies it to tokens held in the
process (a contract without an id, or one no store holds), the run store applies it in a
transaction to tokens held in the store (a shared contract: one bucket for every process).
"""

from __future__ import annotations

import threading

from aos_core.contracts.resources import RateLimit

__all__ = ["TokenBucket", "take_token"]

_EPSILON = 1e-9
_MIN_WAIT = 1e-6


def take_token(limit: RateLimit, tokens: float, at: float, now: float) -> tuple[float, float, float]:
    """Take one token from a bucket that held `tokens` at time `at`, at time `now`: the bucket's
    (tokens, at) after, and 0.0 when the token was taken, else the seconds until one is there
    (nothing taken)."""
    elapsed = max(0.0, now - at)
    tokens = min(float(limit.burst), tokens + elapsed * limit.per_second)
    at = max(at, now)
    if tokens >= 1.0 - _EPSILON:  # float refills land a hair short of a whole token
        return max(0.0, tokens - 1.0), at, 0.0
    return tokens, at, max((1.0 - tokens) / limit.per_second, _MIN_WAIT)


class TokenBucket:
    """A token bucket driven by the caller's clock readings (so tests and replays control time)."""

    real_time = False  # its waits are in the caller's time (`account.Bucket`)

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.limit = limit
        self._tokens = float(limit.burst)
        self._at = now
        self._lock = threading.Lock()

    def take(self, now: float) -> float:
        """Take one token: 0.0 when taken, else the seconds to wait until one is available."""
        with self._lock:
            self._tokens, self._at, wait = take_token(self.limit, self._tokens, self._at, now)
            return wait
