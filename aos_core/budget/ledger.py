"""The budget ledger: reserve the worst case before a call, settle the actual cost after it.

A call is admitted only if what is already spent, plus what other calls have reserved, plus
this call's worst case fits every limit; so concurrent calls can never jointly overspend.
All arithmetic is exact (ints and `Decimal`); the lock makes it safe across worker threads.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aos_core.contracts.cost import Cost
from aos_core.contracts.money import format_money
from aos_core.contracts.resources import ResourceContract

__all__ = ["Ledger", "Refusal", "Reservation"]

_FIELDS = ("input_tokens", "output_tokens", "calls", "money")
_INDICES = range(4)
_LIMITS = {
    "input_tokens": "max_input_tokens",
    "output_tokens": "max_output_tokens",
    "calls": "max_calls",
    "money": "max_money",
}


class Reservation:
    """A worst case admitted against the limits; settle it exactly once. `held` is what was set
    aside (tokens in, tokens out, calls, money; only the limited ones count), or None when nothing
    was (no limit, or a cost recorded without a reservation). A plain slotted class: one is made
    per call, and a frozen dataclass costs more."""

    __slots__ = ("held", "worst")

    def __init__(self, worst: Cost, held: tuple[Any, ...] | None = None) -> None:
        self.worst = worst
        self.held = held


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a reservation was refused: the limit, and what would have been needed."""

    limit: str
    requested: str
    remaining: str
    message: str

    def details(self) -> dict[str, Any]:
        return {"limit": self.limit, "requested": self.requested, "remaining": self.remaining}


class Ledger:
    """Spent and reserved amounts against one `ResourceContract`."""

    def __init__(self, contract: ResourceContract, started_at: float) -> None:
        self.contract = contract
        self.started_at = started_at
        self._lock = threading.Lock()
        self._spent: list[Any] = [0, 0, 0, Decimal(0)]
        self._limits: list[Any] = [getattr(contract, _LIMITS[f]) for f in _FIELDS]
        # what is still free under each limit (limit - spent - reserved), kept up to date so that
        # admitting a call is one comparison per limited field
        self._free: list[Any] = list(self._limits)
        self._limited = tuple(i for i, limit in enumerate(self._limits) if limit is not None)
        self.wall_limited = contract.max_wall_time_ms is not None
        self.overruns = 0
        self._last: tuple[Any, tuple[Any, ...]] = (None, ())  # the last worst case and its values

    def elapsed_ms(self, now: float) -> float:
        return max(0.0, (now - self.started_at) * 1000.0)

    def remaining_wall_ms(self, now: float) -> float | None:
        limit = self.contract.max_wall_time_ms
        return None if limit is None else limit - self.elapsed_ms(now)

    def reserve(self, worst: Cost, now: float) -> Reservation | Refusal:
        """Hold `worst` if it fits every limit; otherwise say which limit it breaks."""
        if self.wall_limited and self.elapsed_ms(now) >= self.contract.max_wall_time_ms:  # type: ignore[operator]
            limit = self.contract.max_wall_time_ms
            return Refusal(
                "max_wall_time_ms",
                f"{round(self.elapsed_ms(now))} ms elapsed",
                "0 ms",
                f"the run's wall-time budget of {limit} ms is used up",
            )
        if worst.money and worst.currency != self.contract.currency:
            return Refusal(
                "currency",
                worst.currency,
                self.contract.currency,
                f"the call is priced in {worst.currency} but the contract counts {self.contract.currency}",
            )
        limited = self._limited
        if not limited:
            return Reservation(worst)  # nothing to protect: only spending is counted
        last = self._last  # one tuple, so threads never see a cost with another cost's values
        if last[0] is worst:
            values = last[1]
        else:
            values = (worst.input_tokens, worst.output_tokens, worst.calls, worst.money)
            self._last = (worst, values)
        free = self._free
        with self._lock:
            for i in limited:
                if values[i] > free[i]:
                    return _refusal(_FIELDS[i], values[i], free[i], self._limits[i])
            for i in limited:
                free[i] -= values[i]
        return Reservation(worst, values)

    def settle(self, reservation: Reservation, actual: Cost) -> None:
        """Release the held worst case and record what the call actually cost."""
        worst = reservation.worst
        held = reservation.held
        if actual is worst and held is not None:
            values = held
        else:
            values = (actual.input_tokens, actual.output_tokens, actual.calls, actual.money)
        spent, free = self._spent, self._free
        with self._lock:
            for i in self._limited:
                free[i] += (0 if held is None else held[i]) - values[i]
            for i in _INDICES:
                spent[i] += values[i]
        if actual is not worst and (
            values[0] > worst.input_tokens
            or values[1] > worst.output_tokens
            or values[2] > worst.calls
            or values[3] > worst.money
        ):
            self.overruns += 1

    def record(self, actual: Cost) -> None:
        """Count a cost that was never reserved (a replay settling from its trace)."""
        self.settle(Reservation(actual), actual)

    def spent(self) -> Cost:
        with self._lock:
            return _cost(self._spent, self.contract.currency)

    def snapshot(self, now: float) -> dict[str, Any]:
        """Limits, spent, reserved and remaining, as JSON data."""
        with self._lock:
            spent, free = list(self._spent), list(self._free)
        reserved: list[Any] = [0, 0, 0, Decimal(0)]
        limits: dict[str, Any] = {}
        remaining: dict[str, Any] = {}
        for i, field in enumerate(_FIELDS):
            limit = self._limits[i]
            limits[_LIMITS[field]] = _json(limit)
            remaining[field] = None if limit is None else _json(free[i])
            if limit is not None and limit - spent[i] != free[i]:  # what is held (zero stays plain 0)
                reserved[i] = limit - spent[i] - free[i]
        left = self.remaining_wall_ms(now)
        limits["max_wall_time_ms"] = self.contract.max_wall_time_ms
        remaining["wall_time_ms"] = None if left is None else max(0, round(left))
        return {
            "contract": self.contract.id,
            "currency": self.contract.currency,
            "limits": limits,
            "spent": _cost(spent, self.contract.currency).model_dump(mode="json"),
            "reserved": _cost(reserved, self.contract.currency).model_dump(mode="json"),
            "remaining": remaining,
            "elapsed_ms": round(self.elapsed_ms(now)),
            "overruns": self.overruns,
        }


def _refusal(field: str, wanted: Any, remaining: Any, limit: Any) -> Refusal:
    name = _LIMITS[field]
    unit = "" if field == "money" else f" {field.replace('_', ' ')}"
    return Refusal(
        name,
        str(_json(wanted)),
        str(_json(max(remaining, 0))),
        f"worst case needs {_json(wanted)}{unit} but only {_json(max(remaining, 0))} of {name}={_json(limit)} is left",
    )


def _cost(values: list[Any], currency: str) -> Cost:
    return Cost.model_construct(
        input_tokens=values[0], output_tokens=values[1], calls=values[2], money=values[3], currency=currency
    )


def _json(value: Any) -> Any:
    return format_money(value) if isinstance(value, Decimal) else value
