"""Shared budgets and rate limits in SQL: the `BudgetStore` half of `SQLRunStore`.

A contract with an id is a row of `budgets` (what is spent and held, as canonical JSON; money
exact) and a row of `budget_holds` per reservation in flight, with an expiry by the database's
clock; its rate limits are rows of `rate_buckets`. Each operation is one transaction of the store
(the budget's row locked first), so every process and worker on the store sees one budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

from aos_core.budget.ratelimit import take_token
from aos_core.contracts.cost import Cost
from aos_core.contracts.money import MONEY_CONTEXT
from aos_core.contracts.resources import RateLimit, ResourceContract
from aos_core.runs.trace import canonical_json

__all__ = ["SQLBudgets", "over_limit"]


_FIELDS = (("input_tokens", "max_input_tokens"), ("output_tokens", "max_output_tokens"), ("calls", "max_calls"))


def _cost(text: str) -> Cost:
    return Cost.model_validate(json.loads(text))


def _json(cost: Cost) -> str:
    return canonical_json(cost.model_dump(mode="json"))


def _minus(a: Cost, b: Cost) -> Cost:
    """`a - b` field by field, never below zero (money stays exact)."""
    return Cost(
        input_tokens=max(0, a.input_tokens - b.input_tokens),
        output_tokens=max(0, a.output_tokens - b.output_tokens),
        calls=max(0, a.calls - b.calls),
        money=max(MONEY_CONTEXT.subtract(a.money, b.money), Decimal(0)),
        currency=a.currency,
    )


def over_limit(contract: ResourceContract, spent: Cost, held: Cost, worst: Cost) -> tuple[str, Any, Any] | None:
    """The first limit `worst` breaks given what is spent and held: (limit, requested, remaining)."""
    for field, name in (*_FIELDS, ("money", "max_money")):
        limit = getattr(contract, name)
        if limit is None:
            continue
        free = limit - getattr(spent, field) - getattr(held, field)
        if getattr(worst, field) > free:
            return name, getattr(worst, field), max(free, 0)
    return None


class SQLBudgets:
    """Shared budgets and rate buckets over `_writing`/`_reading` and `now_sql` (see `SQLRunStore`)."""

    now_sql: str
    lock_rows: str

    # the connection interface a store gives (`SQLRunStore`'s subclasses): one write or read transaction
    def _writing(self, doing: str) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _reading(self, doing: str) -> AbstractContextManager[Any]:
        raise NotImplementedError

    def _budget(self, db: Any, contract: ResourceContract) -> tuple[Cost, Cost]:
        """(spent, held) of the budget, created on first use, its expired holds taken back."""
        zero = _json(Cost(currency=contract.currency))
        db.execute(
            f"INSERT INTO budgets VALUES (?,?,{self.now_sql},?,?) ON CONFLICT DO NOTHING",
            (contract.id, canonical_json(contract.model_dump(mode="json")), zero, zero),
        )
        spent_text, held_text = db.execute(
            f"SELECT spent, held FROM budgets WHERE id=?{self.lock_rows}", (contract.id,)
        ).fetchone()
        spent, held = _cost(spent_text), _cost(held_text)
        expired = db.execute(
            f"SELECT id, worst FROM budget_holds WHERE budget_id=? AND expires_at<{self.now_sql}", (contract.id,)
        ).fetchall()
        for hold_id, worst in expired:  # a dead process's holds go back
            held = _minus(held, _cost(worst))
            db.execute("DELETE FROM budget_holds WHERE id=?", (hold_id,))
        return spent, held

    def _save(self, db: Any, budget_id: str, spent: Cost, held: Cost) -> None:
        db.execute("UPDATE budgets SET spent=?, held=? WHERE id=?", (_json(spent), _json(held), budget_id))

    def budget_reserve(
        self, contract: ResourceContract, worst: Cost, hold_s: float, owner: str
    ) -> int | tuple[str, Any, Any]:
        with self._writing("reserve on a shared budget") as db:
            spent, held = self._budget(db, contract)
            broken = over_limit(contract, spent, held, worst)
            if broken is not None:
                self._save(db, contract.id or "", spent, held)
                return broken
            self._save(db, contract.id or "", spent, held + worst)
            row = db.execute(
                f"INSERT INTO budget_holds (budget_id, owner, worst, expires_at) VALUES (?,?,?,{self.now_sql} + ?)"
                " RETURNING id",
                (contract.id, owner, _json(worst), hold_s),
            ).fetchone()
            return int(row[0])

    def budget_settle(self, contract_id: str, hold: int, actual: Cost | None) -> None:
        with self._writing("settle on a shared budget") as db:
            row = db.execute(f"SELECT spent, held FROM budgets WHERE id=?{self.lock_rows}", (contract_id,)).fetchone()
            if row is None:
                return
            spent, held = _cost(row[0]), _cost(row[1])
            found = db.execute("SELECT worst FROM budget_holds WHERE id=?", (hold,)).fetchone()
            if found is not None:  # gone when it expired and was taken back: only the actual is added
                held = _minus(held, _cost(found[0]))
                db.execute("DELETE FROM budget_holds WHERE id=?", (hold,))
            if actual is not None:
                spent = spent + actual
            self._save(db, contract_id, spent, held)

    def budget_record(self, contract: ResourceContract, cost: Cost) -> None:
        with self._writing("record on a shared budget") as db:
            spent, held = self._budget(db, contract)
            self._save(db, contract.id or "", spent + cost, held)

    def rate_take(self, budget_id: str, skill: str, limit: RateLimit) -> float:
        with self._writing("take a rate-limit token") as db:
            db.execute(
                f"INSERT INTO rate_buckets VALUES (?,?,?,{self.now_sql}) ON CONFLICT DO NOTHING",
                (budget_id, skill, float(limit.burst)),
            )
            tokens, at, now = db.execute(
                f"SELECT tokens, counted_at, {self.now_sql} FROM rate_buckets WHERE budget_id=? AND skill=?"
                f"{self.lock_rows}",
                (budget_id, skill),
            ).fetchone()
            tokens, at, wait = take_token(limit, float(tokens), float(at), float(now))
            db.execute(
                "UPDATE rate_buckets SET tokens=?, counted_at=? WHERE budget_id=? AND skill=?",
                (tokens, at, budget_id, skill),
            )
        return wait

    def budget_state(self, contract_id: str) -> tuple[Cost, Cost, float] | None:
        with self._reading("read a shared budget") as db:
            row = db.execute(
                f"SELECT spent, held, {self.now_sql} - started_at FROM budgets WHERE id=?", (contract_id,)
            ).fetchone()
        return None if row is None else (_cost(row[0]), _cost(row[1]), float(row[2]))

    def budget_holds(self, contract_id: str) -> Iterator[dict[str, Any]]:
        """The holds of a shared budget (for inspection and tests)."""
        with self._reading("read a shared budget") as db:
            rows = db.execute(
                "SELECT id, owner, worst, expires_at FROM budget_holds WHERE budget_id=?", (contract_id,)
            ).fetchall()
        for hold_id, owner, worst, expires in rows:
            yield {"id": hold_id, "owner": owner, "worst": json.loads(worst), "expires_at": expires}
