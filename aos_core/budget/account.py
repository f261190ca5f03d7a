"""An account: a resource contract in force, with everything that enforces it.

One account holds a contract's ledger (what is spent and held), its rate-limit buckets and its
concurrency gate, so that rate limits and concurrency cover what the budget covers: one run for
a contract without an id, everything in this process that names the contract when it has one,
and, for a contract held in a store, the rate limits of every process using it (see
`aos_core.contracts.resources`).
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from aos_core.budget.concurrency import Gate
from aos_core.budget.ledger import Ledger
from aos_core.budget.ratelimit import TokenBucket
from aos_core.contracts.resources import RateLimit, ResourceContract

__all__ = ["Account", "Bucket"]


class Bucket(Protocol):
    """A rate limit's bucket: `take(now)` is 0.0 when a token was taken, else the seconds to wait.
    `real_time`: its waits are in real time (a store's clock), whatever clock the runtime has,
    so they are waited on a real clock; else on the runtime's, whose readings it takes."""

    limit: RateLimit
    real_time: bool

    def take(self, now: float) -> float: ...


class Account:
    """The ledger, rate-limit buckets and concurrency gate of one contract."""

    def __init__(self, contract: ResourceContract, started_at: float, ledger: Any = None) -> None:
        self.contract = contract
        self.ledger = ledger or Ledger(contract, started_at)  # a Ledger, or a SharedLedger held in a store
        # True when the ledger lives in a store: it remembers what a run spent before a resume itself
        self.durable = bool(getattr(self.ledger, "durable", False))
        # runs whose spend this account counted as it happened (a resume of one of them adds nothing)
        self.runs_counted: set[str] = set()
        self.gate = Gate(contract.max_concurrency) if contract.max_concurrency else None
        self._started_at = started_at
        self._buckets: dict[str, Bucket] = {}
        self._lock = threading.Lock()

    def bucket(self, skill: str) -> Bucket | None:
        """The token bucket of `skill` under this contract, or None when it has no rate limit: in
        the store when the ledger is (a shared contract), else in this process."""
        if not self.contract.rate_limits:
            return None
        bucket = self._buckets.get(skill)
        if bucket is None:
            limit = self.contract.rate_limits.get(skill)
            if limit is None:
                return None
            shared = getattr(self.ledger, "bucket", None)
            made = shared(skill, limit) if shared is not None else TokenBucket(limit, self._started_at)
            with self._lock:
                bucket = self._buckets.setdefault(skill, made)
        return bucket
