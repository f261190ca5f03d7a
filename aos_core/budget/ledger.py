"""The budget ledger: reserve the worst case before a call, settle the actual cost after it.

A call is admitted only if what is already spent, plus what other calls hold, plus this call's
worst case fits every limit; so concurrent calls can never jointly overspend. Each reservation
is settled (the actual cost recorded) or released (nothing spent) exactly once; settling or
releasing it again does nothing, so a `finally` can always release what it holds.

Invariants (a hypothesis state machine checks them): `spent + reserved <= limit` for every
limited field unless a call's actual cost overran its worst case, and `spent` is the sum of
every settled actual cost and recorded cost. Money arithmetic runs in `MONEY_CONTEXT`, never in
the caller's decimal context: the ledger counts money in whole units of 1e-18 (ints), converted
exactly from and to `Decimal` in `MONEY_CONTEXT`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aos_core.contracts.cost import Cost
from aos_core.contracts.money import MONEY_CONTEXT, MONEY_PLACES, format_money
from aos_core.contracts.resources import ResourceContract

__all__ = ["Ledger", "Refusal", "Reservation", "refused_before_limits"]

_FIELDS = ("input_tokens", "output_tokens", "calls", "money")
_LIMITS = ("max_input_tokens", "max_output_tokens", "max_calls", "max_money")
_UNITS = (" input tokens", " output tokens", " calls", "")
_SCALE = Decimal(10) ** MONEY_PLACES  # money is counted in whole 1e-18 units: exact int arithmetic
_ZERO = Decimal(0)


def _units(money: Decimal) -> int:
    """Money as an int count of 1e-18 (exact: money has at most MONEY_PLACES decimal places)."""
    return 0 if not money else int(MONEY_CONTEXT.multiply(money, _SCALE))


def _money(units: int, places: int = 0) -> Decimal:
    """Units back to exact money, written with at least `places` decimal places (zero spent is 0)."""
    if not units:
        return _ZERO
    exact = MONEY_CONTEXT.divide(Decimal(units), _SCALE)
    shown = exact.quantize(Decimal(1).scaleb(-places), context=MONEY_CONTEXT)
    return shown if shown == exact else exact


def _values(cost: Cost) -> tuple[int, int, int, int]:
    return (cost.input_tokens, cost.output_tokens, cost.calls, _units(cost.money))


def _places(money: Decimal | None) -> int:
    """Decimal places `money` was written with (0.010 has 3)."""
    exponent = money.as_tuple().exponent if money else 0
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


class Reservation:
    """A worst case admitted against one ledger; settle or release it exactly once."""

    __slots__ = ("held", "ledger", "open", "worst")

    def __init__(self, ledger: Ledger, worst: Cost, held: tuple[Any, ...] | None) -> None:
        self.ledger = ledger
        self.worst = worst
        self.held = held  # what was set aside (None when no field is limited)
        self.open = True


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a reservation was refused: the limit, and what would have been needed."""

    limit: str
    requested: str
    remaining: str
    message: str
    contract: str | None = None

    def details(self) -> dict[str, Any]:
        data = {"limit": self.limit, "requested": self.requested, "remaining": self.remaining}
        if self.contract is not None:
            data["contract"] = self.contract
        return data


def refused_before_limits(
    contract: ResourceContract, worst: Cost, wall_left_ms: float | None, elapsed_ms: float
) -> Refusal | None:
    """The refusals every ledger makes before counting: wall time used up, or another currency."""
    if wall_left_ms is not None and wall_left_ms <= 0:
        return Refusal(
            "max_wall_time_ms",
            f"{round(elapsed_ms)} ms elapsed",
            "0 ms",
            f"the wall-time budget of {contract.max_wall_time_ms} ms is used up",
            contract.id,
        )
    if worst.money and worst.currency != contract.currency:
        return Refusal(
            "currency",
            worst.currency,
            contract.currency,
            f"the call is priced in {worst.currency} but the contract counts {contract.currency}",
            contract.id,
        )
    return None


class Ledger:
    """Spent and held amounts against one `ResourceContract`; safe across threads."""

    def __init__(self, contract: ResourceContract, started_at: float) -> None:
        self.contract = contract
        self.started_at = started_at
        self._lock = threading.Lock()
        limits = [getattr(contract, name) for name in _LIMITS]
        if limits[3] is not None:
            limits[3] = _units(limits[3])
        self._limits: tuple[int | None, ...] = tuple(limits)
        self._limited = tuple(i for i, limit in enumerate(self._limits) if limit is not None)
        # money is shown as Decimal arithmetic would write it: a sum has as many decimal places as
        # the amounts it came from (1.00, not 1); `_spent_places` for what was spent, `_places` for
        # everything (the limit, every worst case and actual cost seen)
        self._spent_places = 0
        self._places = _places(contract.max_money)
        self._spent = [0, 0, 0, 0]
        # what is still free under each limit (limit - spent - held): admitting a call is one
        # comparison per limited field
        self._free = [0 if limit is None else limit for limit in self._limits]
        self.wall_limited = contract.max_wall_time_ms is not None
        # the last worst case reserved and its values: a skill priced by its metadata reserves
        # the same `Cost` every call (frozen), so its values are worked out once, not per call
        self._last: tuple[Cost, tuple[int, int, int, int]] | None = None

    def elapsed_ms(self, now: float) -> float:
        return max(0.0, (now - self.started_at) * 1000.0)

    def remaining_wall_ms(self, now: float) -> float | None:
        limit = self.contract.max_wall_time_ms
        return None if limit is None else limit - self.elapsed_ms(now)

    def reserve(self, worst: Cost, now: float) -> Reservation | Refusal:
        """Hold `worst` if it fits every limit; otherwise say which limit it breaks."""
        contract = self.contract
        # the two refusals before counting are rare: test for them inline, and build one only then
        if self.wall_limited or (worst.money and worst.currency != contract.currency):
            refused = refused_before_limits(contract, worst, self.remaining_wall_ms(now), self.elapsed_ms(now))
            if refused is not None:
                return refused
        if not self._limited:
            return Reservation(self, worst, None)  # nothing to protect: only spending is counted
        last = self._last
        if last is not None and last[0] is worst:
            wanted = last[1]
        else:
            wanted = _values(worst)
            self._last = (worst, wanted)
        if wanted[3]:
            self._places = max(self._places, _places(worst.money))
        free = self._free
        with self._lock:
            for i in self._limited:
                if wanted[i] > free[i]:
                    return self._refusal(i, wanted[i], free[i])
            for i in self._limited:
                free[i] -= wanted[i]
        return Reservation(self, worst, wanted)

    def settle(self, reservation: Reservation, actual: Cost) -> bool:
        """Release what `reservation` holds and count `actual` as spent. True when `actual`
        overran the worst case. Settling a reservation twice does nothing the second time."""
        held = reservation.held
        if held is not None and actual is reservation.worst:
            values = held
        else:  # a metadata-priced skill settles the same `Cost` every call: its values once (~0.2 µs)
            last = self._last
            if last is not None and last[0] is actual:
                values = last[1]
            else:
                values = _values(actual)
                self._last = (actual, values)
        if values[3]:
            self._note_spent(actual.money)
        spent, free = self._spent, self._free
        with self._lock:
            if not reservation.open:
                return False
            reservation.open = False
            if values is not held:  # charged what was held (a fixed price): nothing to give back
                for i in self._limited:
                    free[i] += (0 if held is None else held[i]) - values[i]
            spent[0] += values[0]
            spent[1] += values[1]
            spent[2] += values[2]
            spent[3] += values[3]
        return actual is not reservation.worst and not actual.fits_within(reservation.worst)

    def release(self, reservation: Reservation) -> None:
        """Give back what `reservation` holds, spending nothing (the call never ran)."""
        held = reservation.held
        with self._lock:
            if reservation.open:
                reservation.open = False
                if held is not None:
                    for i in self._limited:
                        self._free[i] += held[i]

    def record(self, cost: Cost) -> None:
        """Count a cost that was never reserved here (settled earlier, or read from a trace)."""
        values = _values(cost)
        if values[3]:
            self._note_spent(cost.money)
        with self._lock:
            for i in range(4):
                self._spent[i] += values[i]
                self._free[i] -= values[i]

    def _note_spent(self, money: Decimal) -> None:
        places = _places(money)
        self._spent_places = max(self._spent_places, places)
        self._places = max(self._places, places)

    def _held(self) -> list[int]:
        """What reservations hold, per field (limited fields only; 0 elsewhere). Under the lock."""
        return [0 if limit is None else limit - self._spent[i] - self._free[i] for i, limit in enumerate(self._limits)]

    def spent(self) -> Cost:
        with self._lock:
            return _cost(self._spent, self.contract.currency, self._spent_places)

    def reserved(self) -> Cost:
        with self._lock:
            return _cost(self._held(), self.contract.currency, self._places)

    def snapshot(self, now: float) -> dict[str, Any]:
        """Limits, spent, reserved and remaining, as JSON data."""
        with self._lock:
            spent, held, free = list(self._spent), self._held(), list(self._free)
        limits: dict[str, Any] = {}
        remaining: dict[str, Any] = {}
        for i, field in enumerate(_FIELDS):
            limit = self._limits[i]
            limits[_LIMITS[i]] = _shown(i, limit, self._places)
            remaining[field] = None if limit is None else _shown(i, max(free[i], 0), self._places)
        left = self.remaining_wall_ms(now)
        limits["max_wall_time_ms"] = self.contract.max_wall_time_ms
        remaining["wall_time_ms"] = None if left is None else max(0, round(left))
        currency = self.contract.currency
        return {
            "contract": self.contract.id,
            "currency": currency,
            "limits": limits,
            "spent": _cost(spent, currency, self._spent_places).model_dump(mode="json"),
            "reserved": _cost(held, currency, self._places).model_dump(mode="json"),
            "remaining": remaining,
            "elapsed_ms": round(self.elapsed_ms(now)),
        }

    def _refusal(self, index: int, wanted: int, free: int) -> Refusal:
        name, unit = _LIMITS[index], _UNITS[index]
        places = self._places
        need = _shown(index, wanted, 0)  # the worst case as written
        left, limit = _shown(index, max(free, 0), places), _shown(index, self._limits[index], places)
        return Refusal(
            name,
            str(need),
            str(left),
            f"worst case needs {need}{unit} but only {left} of {name}={limit} is left",
            self.contract.id,
        )


def _cost(values: list[int], currency: str, places: int) -> Cost:
    money = _money(values[3], places)
    return Cost(input_tokens=values[0], output_tokens=values[1], calls=values[2], money=money, currency=currency)


def _shown(index: int, value: int | None, places: int) -> Any:
    """A field's value as JSON data: money as a decimal string (with `places`), counts as ints."""
    if value is None or index != 3:
        return value
    if not value:
        return format_money(Decimal(0).scaleb(-places))
    return format_money(_money(value, places))
