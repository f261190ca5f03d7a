"""Exact money: `Decimal` in memory, a decimal string on the wire, never a binary float.

Every amount AOS handles (a price, a cost, a limit) is non-negative, below `MAX_MONEY` and has
at most `MONEY_PLACES` decimal places; anything else is refused when it is read. Arithmetic on
money runs in `MONEY_CONTEXT`, never in the caller's thread-local decimal context: a caller
that sets `decimal.getcontext().prec = 4` must not round a budget.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["MAX_MONEY", "MONEY_CONTEXT", "MONEY_PLACES", "Money", "add_money", "format_money", "to_decimal"]

MONEY_PLACES = 18
MAX_MONEY = Decimal(10) ** 15
# 60 significant digits hold any sum of a million amounts of 15 integer and 18 fractional digits
# exactly; the traps turn what would be a silent rounding into an error.
MONEY_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, Overflow, DivisionByZero])
_ZERO = Decimal(0)


def to_decimal(value: Any) -> Decimal:
    """Read money from a decimal, an int or a decimal string; refuse what money cannot be.

    A float is read through its shortest repr, so `0.1` means the `0.1` that was written,
    not the binary approximation `Decimal(0.1)` would give.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError("money must be a decimal string or a number, not a boolean")
    elif isinstance(value, int):
        if abs(value) > MAX_MONEY:
            raise ValueError(f"money must be at most {MAX_MONEY:,}")
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        text = value.strip()
        if len(text) > 64:
            raise ValueError("money must be a decimal string of at most 64 characters")
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    else:
        raise ValueError(f"money must be a decimal string, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("money must be finite")
    if result < 0:
        raise ValueError("money is never negative")
    if result > MAX_MONEY:
        raise ValueError(f"money must be at most {MAX_MONEY:,}")
    exponent = result.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and exponent < -MONEY_PLACES
        and result != result.quantize(Decimal(1).scaleb(-MONEY_PLACES), context=MONEY_CONTEXT)
    ):
        raise ValueError(f"money has at most {MONEY_PLACES} decimal places")
    return result


def add_money(a: Decimal, b: Decimal) -> Decimal:
    """`a + b` in `MONEY_CONTEXT`."""
    return MONEY_CONTEXT.add(a, b)


def format_money(value: Decimal) -> str:
    """A decimal as a plain string without exponent: `Decimal('1E-5')` -> `'0.00001'`."""
    text = format(value, "f")
    return "0" if text in {"-0", ""} else text


Money = Annotated[
    Decimal,
    BeforeValidator(to_decimal),
    PlainSerializer(format_money, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": r"^\d+(\.\d+)?$", "examples": ["0.00315"]}),
]
