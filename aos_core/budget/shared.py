"""A ledger held in a store: one budget for every process and worker that names the contract.

`SharedLedger` has the `Ledger` interface, but its amounts live in a `BudgetStore` (the run
store's database), so runs on several processes or machines reserve against one budget. A
reservation is one transaction of the store (SQLite: an immediate transaction; PostgreSQL: a
conditional update), admitted only if what is spent plus what is held plus the worst case fits
every limit; each held reservation is a row with an expiry, so the holds of a process that died
are released when they expire. Settling releases the worst case and adds the actual cost exactly
once (settling a reservation twice, or one already expired, never adds it twice). The
contract's rate limits are buckets in the store too (`SharedBucket`), so they cover what the
budget covers.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

from aos_core.budget.ledger import Refusal, refused_before_limits
from aos_core.contracts.cost import Cost
from aos_core.contracts.money import format_money
from aos_core.contracts.resources import RateLimit, ResourceContract

__all__ = ["HOLD_GRACE_S", "BudgetStore", "SharedBucket", "SharedLedger", "SharedReservation"]

# How long a hold outlives its call's deadline before another process may take it back.
HOLD_GRACE_S = 60.0


class BudgetStore(Protocol):
    """What a store does for shared budgets (implemented by the SQLite and PostgreSQL run stores)."""

    def budget_reserve(
        self, contract: ResourceContract, worst: Cost, hold_s: float, owner: str
    ) -> int | tuple[str, Any, Any]:
        """Hold `worst` for `hold_s` seconds by the store's clock (the id of the hold; a hold not
        settled by then is taken back), or (limit, requested, remaining) of the limit it breaks."""
        ...

    def budget_settle(self, contract_id: str, hold: int, actual: Cost | None) -> None:
        """Drop hold `hold` (if it is still there) and add `actual` to what is spent (None: nothing)."""
        ...

    def budget_record(self, contract: ResourceContract, cost: Cost) -> None:
        """Add `cost` to what is spent, with no reservation."""
        ...

    def rate_take(self, budget_id: str, skill: str, limit: RateLimit) -> float:
        """Take a token from the store's bucket of `skill` under the budget (`take_token`, by the
        store's clock): 0.0 when taken, else the seconds until one is there."""
        ...

    def budget_state(self, contract_id: str) -> tuple[Cost, Cost, float] | None:
        """(spent, held, seconds since the budget started by the store's clock), or None if it has
        none yet."""
        ...


_STORE_TICK_S = 0.001  # SQLite's 'now' counts milliseconds


class SharedBucket:
    """A shared contract's rate limit for one skill: one bucket in the store for every process
    using it, refilled by the store's clock (a process's own clock readings are not used)."""

    __slots__ = ("budget_id", "limit", "skill", "store")
    real_time = True  # the store's clock: waited on a real clock, whatever the runtime's (`account.Bucket`)

    def __init__(self, store: BudgetStore, budget_id: str, skill: str, limit: RateLimit) -> None:
        self.store = store
        self.budget_id = budget_id
        self.skill = skill
        self.limit = limit

    def take(self, now: float) -> float:
        """0.0 when a token was taken, else the seconds to wait: at least a millisecond, the
        resolution of SQLite's clock (a shorter wait would read the same instant again)."""
        wait = self.store.rate_take(self.budget_id, self.skill, self.limit)
        return wait if wait <= 0.0 else max(wait, _STORE_TICK_S)


class SharedReservation:
    """A hold in the store; settle or release it exactly once (again does nothing)."""

    __slots__ = ("hold", "ledger", "open", "worst")

    def __init__(self, ledger: SharedLedger, worst: Cost, hold: int) -> None:
        self.ledger = ledger
        self.worst = worst
        self.hold = hold
        self.open = True


class SharedLedger:
    """A `Ledger` whose amounts are in a `BudgetStore`, shared by every process using it."""

    durable = True

    def __init__(self, contract: ResourceContract, store: BudgetStore, owner: str) -> None:
        if contract.id is None:
            raise ValueError("only a contract with an id can be shared")
        self.contract = contract
        self.store = store
        self.owner = owner
        self.wall_limited = contract.max_wall_time_ms is not None
        self._started = time.monotonic()  # until the store has the budget: its start as this process saw it

    def _elapsed_ms(self) -> float:
        state = self.store.budget_state(self.contract.id or "")
        elapsed = state[2] if state is not None else time.monotonic() - self._started
        return max(0.0, elapsed * 1000.0)

    def bucket(self, skill: str, limit: RateLimit) -> SharedBucket:
        """The rate limit of `skill` under this contract, held in the store."""
        return SharedBucket(self.store, self.contract.id or "", skill, limit)

    def remaining_wall_ms(self, now: float) -> float | None:
        limit = self.contract.max_wall_time_ms
        return None if limit is None else limit - self._elapsed_ms()

    def reserve(self, worst: Cost, now: float) -> SharedReservation | Refusal:
        contract = self.contract
        left = self.remaining_wall_ms(now)
        refused = refused_before_limits(contract, worst, left, self._elapsed_ms() if left is not None else 0.0)
        if refused is not None:
            return refused
        answer = self.store.budget_reserve(contract, worst, HOLD_GRACE_S, self.owner)
        if isinstance(answer, int):
            return SharedReservation(self, worst, answer)
        limit, requested, remaining = answer
        shown = [format_money(v) if limit == "max_money" else v for v in (requested, remaining)]
        value = getattr(contract, limit)
        return Refusal(
            limit,
            str(shown[0]),
            str(shown[1]),
            f"worst case needs {shown[0]} but only {shown[1]} of {limit}={value} is left (shared contract "
            f"{contract.id!r})",
            contract.id,
        )

    def settle(self, reservation: Any, actual: Cost) -> bool:
        if not reservation.open:
            return False
        reservation.open = False
        self.store.budget_settle(self.contract.id or "", reservation.hold, actual)
        return actual is not reservation.worst and not actual.fits_within(reservation.worst)

    def release(self, reservation: Any) -> None:
        if reservation.open:
            reservation.open = False
            self.store.budget_settle(self.contract.id or "", reservation.hold, None)

    def record(self, cost: Cost) -> None:
        self.store.budget_record(self.contract, cost)

    def spent(self) -> Cost:
        state = self.store.budget_state(self.contract.id or "")
        return state[0] if state is not None else Cost(currency=self.contract.currency)

    def reserved(self) -> Cost:
        state = self.store.budget_state(self.contract.id or "")
        return state[1] if state is not None else Cost(currency=self.contract.currency)

    def snapshot(self, now: float) -> dict[str, Any]:
        """Limits, spent, reserved and remaining, as JSON data (the `Ledger.snapshot` shape)."""
        contract = self.contract
        spent, held = self.spent(), self.reserved()
        fields = ("input_tokens", "output_tokens", "calls", "money")
        limits = ("max_input_tokens", "max_output_tokens", "max_calls", "max_money")
        remaining: dict[str, Any] = {}
        for field, name in zip(fields, limits, strict=True):
            limit = getattr(contract, name)
            left = None if limit is None else max(limit - getattr(spent, field) - getattr(held, field), 0)
            remaining[field] = format_money(left) if field == "money" and left is not None else left
        left_ms = self.remaining_wall_ms(now)
        remaining["wall_time_ms"] = None if left_ms is None else max(0, round(left_ms))
        return {
            "contract": contract.id,
            "currency": contract.currency,
            "limits": {
                **{name: _shown(name, getattr(contract, name)) for name in limits},
                "max_wall_time_ms": contract.max_wall_time_ms,
            },
            "spent": spent.model_dump(mode="json"),
            "reserved": held.model_dump(mode="json"),
            "remaining": remaining,
            "elapsed_ms": round(self._elapsed_ms()),
        }


def _shown(name: str, value: Any) -> Any:
    return format_money(value) if name == "max_money" and value is not None else value
