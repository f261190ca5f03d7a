"""Who is calling: the key in `Authorization: Bearer KEY` or `X-API-Key: KEY`, its scope and
its request rate.

A missing, malformed, unknown, wrong or revoked key is one answer, 401, with no detail about
which; a key without the scope an operation needs is 403. Each key's requests are metered by a
token bucket (its `rate_limit` per second, bursts of as many); past it the answer is 429 with
`Retry-After`. The bucket lives in the API process (one process answers requests here; several
API processes would each meter their share). Keys are never logged, echoed or stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from aos_core import ErrorCode, ResourceContract
from aos_server.errors import ApiError
from aos_server.keys import ApiKey, KeyStore, Scope

__all__ = ["Authenticator", "Principal", "RateLimiter"]


@dataclass(frozen=True)
class Principal:
    """An authenticated key."""

    key: ApiKey

    @property
    def name(self) -> str:
        return self.key.name

    @property
    def admin(self) -> bool:
        return self.key.scope == "admin"

    @property
    def budgets(self) -> tuple[ResourceContract, ...]:
        """The shared contracts everything this key does counts against."""
        return () if self.key.contract is None else (self.key.contract,)

    def need(self, scope: Scope) -> None:
        if not self.key.allows(scope):
            raise ApiError(
                403,
                ErrorCode.PERMISSION_DENIED,
                f"this key's scope is {self.key.scope}; this needs {scope}",
                details={"scope": self.key.scope, "needs": scope},
                recovery=f"Use a key with scope {scope} (aos keys create NAME --scope {scope}).",
            )

    def may_act_on(self, owner: str | None) -> None:
        """Only the key that submitted a run, or an admin key, may change it."""
        if not self.admin and owner != self.name:
            raise ApiError(
                403,
                ErrorCode.PERMISSION_DENIED,
                "this run was not submitted with this key; an admin key may act on it",
                recovery="Act on it with the key that submitted it (submitted_by in GET /v1/runs/ID) or an admin key.",
            )


class RateLimiter:
    """A token bucket per key: `rate` tokens a second, at most `rate` (at least 1) held."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # key name -> (tokens, at)
        self._lock = threading.Lock()

    def wait_needed(self, name: str, rate: float | None) -> float:
        """0 when a request may go now (and take its token), else the seconds until it may."""
        if rate is None:
            return 0.0
        now = time.monotonic()
        burst = max(1.0, rate)
        with self._lock:
            tokens, at = self._buckets.get(name, (burst, now))
            tokens = min(burst, tokens + (now - at) * rate)
            if tokens >= 1.0:
                self._buckets[name] = (tokens - 1.0, now)
                return 0.0
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) / rate


_UNAUTHORIZED = "missing or invalid API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY'"


class Authenticator:
    """Headers in, a `Principal` (or an `ApiError`) out."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys
        self.limiter = RateLimiter()

    def __call__(self, headers: Mapping[str, str]) -> Principal:
        key = self.keys.verify(_presented(headers))
        if key is None:
            raise ApiError(
                401,
                ErrorCode.PERMISSION_DENIED,
                _UNAUTHORIZED,
                headers={"WWW-Authenticate": "Bearer"},
                recovery="Send a live key; an admin creates one with: aos keys create NAME.",
            )
        wait = self.limiter.wait_needed(key.name, key.rate_limit)
        if wait > 0:
            raise ApiError(
                429,
                ErrorCode.RATE_LIMITED,
                f"this key's request rate ({key.rate_limit:g}/s) is used up; retry after the wait",
                retry_after_s=wait,
            )
        return Principal(key)


def _presented(headers: Mapping[str, str]) -> str | None:
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        return None
    value = headers.get("x-api-key")
    return value.strip() if value else None
