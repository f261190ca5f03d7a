"""Exact money: `Decimal` in memory, a decimal string on the wire, never a binary float."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

__all__ = ["Money", "to_decimal", "format_money"]


def to_decimal(value: Any) -> Decimal:
    """Read money from a decimal, an int or a decimal string.

    A float is read through its shortest repr, so `0.1` means the `0.1` that was written,
    not the binary approximation `Decimal(0.1)` would give.
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool):
        raise ValueError("money must be a decimal string or a number, not a boolean")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    else:
        raise ValueError(f"money must be a decimal string, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError("money must be finite")
    return result


def format_money(value: Decimal) -> str:
    """A decimal as a plain string without exponent: `Decimal('1E-5')` -> `'0.00001'`."""
    text = format(value, "f")
    return "0" if text in {"-0", ""} else text


Money = Annotated[
    Decimal,
    BeforeValidator(to_decimal),
    PlainSerializer(format_money, return_type=str, when_used="always"),
    WithJsonSchema({"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "examples": ["0.00315"]}),
]
