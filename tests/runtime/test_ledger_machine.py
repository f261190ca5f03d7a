"""The ledger's invariants, as a hypothesis state machine: whatever sequence of reservations,
settlements (below, at or above the worst case), releases, recorded costs and concurrent
reservations from threads, `spent + reserved <= limit` for every limited field unless a cost
overran what was reserved, `spent` is exactly the sum of the actual costs, `reserved` is exactly
what the open reservations hold, and the caller's decimal context changes nothing."""

from __future__ import annotations

import decimal
import threading
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, multiple, rule

from aos_core import Cost, ResourceContract
from aos_core.budget.ledger import Ledger, Refusal, Reservation

FIELDS = ("input_tokens", "output_tokens", "calls", "money")
LIMITS = {"input_tokens": "max_input_tokens", "output_tokens": "max_output_tokens", "calls": "max_calls"}
LIMITS["money"] = "max_money"

MONEY = st.decimals(min_value=0, max_value=Decimal("0.5"), places=5, allow_nan=False, allow_infinity=False)
COSTS = st.builds(
    Cost,
    input_tokens=st.integers(0, 60),
    output_tokens=st.integers(0, 20),
    calls=st.integers(0, 2),
    money=MONEY,
)
CONTRACTS = st.builds(
    ResourceContract,
    max_input_tokens=st.none() | st.integers(0, 300),
    max_output_tokens=st.none() | st.integers(0, 100),
    max_calls=st.none() | st.integers(0, 12),
    max_money=st.none() | st.decimals(min_value=0, max_value=3, places=3, allow_nan=False, allow_infinity=False),
)


def value(cost: Cost, field: str) -> Any:
    return getattr(cost, field)


class LedgerMachine(RuleBasedStateMachine):
    """A model of what the ledger must hold, next to the ledger itself."""

    reservations = Bundle("reservations")
    closed = Bundle("closed")

    @initialize(contract=CONTRACTS)
    def start(self, contract: ResourceContract) -> None:
        self.contract = contract
        self.ledger = Ledger(contract, 0.0)
        self.spent = {field: Decimal(0) if field == "money" else 0 for field in FIELDS}
        self.held: dict[int, Cost] = {}  # id(reservation) -> its worst case, while open
        self.overran = False

    def limit(self, field: str) -> Any:
        return getattr(self.contract, LIMITS[field])

    def held_total(self, field: str) -> Any:
        return sum((value(w, field) for w in self.held.values()), Decimal(0) if field == "money" else 0)

    def admissible(self, worst: Cost, most: int) -> int:
        """How many reservations of `worst` the model admits now, one after the other (at most `most`)."""
        count = most
        for field in FIELDS:
            limit, need = self.limit(field), value(worst, field)
            if limit is None or not need:
                continue
            free = limit - self.spent[field] - self.held_total(field)
            count = min(count, max(0, int(free // need)))
        return count

    def fits(self, worst: Cost) -> bool:
        """Whether the model says `worst` can be admitted now."""
        return self.admissible(worst, 1) == 1

    def count(self, actual: Cost) -> None:
        for field in FIELDS:
            self.spent[field] += value(actual, field)

    @rule(target=reservations, worst=COSTS)
    def reserve(self, worst: Cost) -> Any:
        expected = self.fits(worst)
        held = self.ledger.reserve(worst, 0.0)
        if not self.overran:  # after an overrun the ledger is over its limit: refusals are expected
            assert isinstance(held, Reservation) == expected, (held, worst)
        if isinstance(held, Refusal):
            return multiple()  # nothing to keep
        self.held[id(held)] = worst
        return held

    @rule(target=closed, reservation=consumes(reservations), actual=COSTS)
    def settle(self, reservation: Reservation, actual: Cost) -> Any:
        worst = self.held.pop(id(reservation))
        overran = self.ledger.settle(reservation, actual)
        assert overran == (not actual.fits_within(worst))
        self.overran = self.overran or overran
        self.count(actual)
        return reservation

    @rule(target=closed, reservation=consumes(reservations))
    def settle_at_the_worst_case(self, reservation: Reservation) -> Any:
        """A call cut short is charged exactly what it reserved."""
        worst = self.held.pop(id(reservation))
        assert self.ledger.settle(reservation, reservation.worst) is False
        self.count(worst)
        return reservation

    @rule(target=closed, reservation=consumes(reservations))
    def release(self, reservation: Reservation) -> Any:
        """A call that never ran spends nothing."""
        self.held.pop(id(reservation))
        self.ledger.release(reservation)
        return reservation

    @rule(reservation=closed, actual=COSTS)
    def settling_or_releasing_again_does_nothing(self, reservation: Reservation, actual: Cost) -> None:
        assert self.ledger.settle(reservation, actual) is False
        self.ledger.release(reservation)

    @rule(cost=COSTS)
    def record(self, cost: Cost) -> None:
        """A cost counted without a reservation (read from a trace, held before a crash)."""
        if not self.fits(cost):
            self.overran = True  # recorded spend may pass the limit; the ledger then refuses everything
        self.ledger.record(cost)
        self.count(cost)

    @rule(worst=COSTS, actual=COSTS)
    def under_a_caller_decimal_context_of_two_digits(self, worst: Cost, actual: Cost) -> None:
        with decimal.localcontext() as context:
            context.prec = 2
            held = self.ledger.reserve(worst, 0.0)
            overran = isinstance(held, Reservation) and self.ledger.settle(held, actual)
        if isinstance(held, Reservation):  # the model counts outside the narrow context
            self.overran = self.overran or overran
            self.count(actual)

    @rule(threads=st.integers(2, 8), worst=COSTS)
    def concurrent_reservations_from_threads(self, threads: int, worst: Cost) -> None:
        """Threads reserving at once are admitted exactly as many times as the worst case fits."""
        start = threading.Barrier(threads)
        got: list[Any] = []
        lock = threading.Lock()

        def reserve() -> None:
            start.wait()
            held = self.ledger.reserve(worst, 0.0)
            with lock:
                got.append(held)

        workers = [threading.Thread(target=reserve) for _ in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        admitted = [h for h in got if isinstance(h, Reservation)]
        if not self.overran:
            assert len(admitted) == self.admissible(worst, threads)
        for held in admitted:
            self.ledger.settle(held, held.worst)
            self.count(worst)

    @invariant()
    def spent_is_the_sum_of_actual_costs(self) -> None:
        spent = self.ledger.spent()
        for field in FIELDS:
            assert value(spent, field) == self.spent[field], field
        assert spent.money >= 0

    @invariant()
    def reserved_is_what_open_reservations_hold(self) -> None:
        reserved = self.ledger.reserved()
        for field in FIELDS:
            if self.limit(field) is None:
                continue  # only limited fields are set aside
            held = sum((value(w, field) for w in self.held.values()), Decimal(0) if field == "money" else 0)
            assert value(reserved, field) == held, field

    @invariant()
    def spent_and_reserved_stay_within_every_limit(self) -> None:
        if self.overran:
            return
        spent, reserved = self.ledger.spent(), self.ledger.reserved()
        for field in FIELDS:
            limit = self.limit(field)
            if limit is not None:
                assert value(spent, field) + value(reserved, field) <= limit, field


TestLedger = LedgerMachine.TestCase
