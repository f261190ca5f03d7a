"""Prices of Anthropic models, per token kind, as exact decimals.

The source is genai-prices' bundled data (a `DataSnapshot` built from `genai_prices.data`, never
a network update, whatever the process did with genai-prices' global snapshot), priced at the
run clock's time. A runtime may override a model's prices in its configuration::

    skills.llm_invoke.prices = {"MODEL": {"input_mtok": "3", "output_mtok": "15"}}

(decimal strings, USD per million tokens; `cache_write_mtok`, `cache_write_1h_mtok` and
`cache_read_mtok` default to `input_mtok`; `context_window` is optional). A model with neither
an override nor a bundled price is refused with `UnknownModelPrice`: a call whose cost cannot
be stated is not made.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["PriceOverride", "Prices", "Tokens", "UnknownModelPrice", "prices_for"]

_MILLION = Decimal(1_000_000)


class UnknownModelPrice(LookupError):
    """No price is known for a model; the message says how to configure one."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True, slots=True)
class Tokens:
    """Token counts of one call by kind; `input` excludes the cached kinds (as the API reports it)."""

    input: int = 0
    output: int = 0
    cache_write: int = 0
    cache_write_1h: int = 0
    cache_read: int = 0

    @property
    def total_input(self) -> int:
        return self.input + self.cache_write + self.cache_read


class PriceOverride(BaseModel):
    """A model's prices set in the runtime configuration (USD per million tokens)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    input_mtok: Decimal = Field(ge=0, allow_inf_nan=False)
    output_mtok: Decimal = Field(ge=0, allow_inf_nan=False)
    cache_write_mtok: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    cache_write_1h_mtok: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    cache_read_mtok: Decimal | None = Field(default=None, ge=0, allow_inf_nan=False)
    context_window: int | None = Field(default=None, gt=0)


class Prices:
    """How one model is priced at one moment: `money(tokens)` and the context window."""

    def __init__(self, model: str, at: datetime, override: PriceOverride | None, context_window: int | None) -> None:
        self.model = model
        self.at = at
        self.override = override
        self.context_window = context_window

    def money(self, tokens: Tokens) -> Decimal:
        """Exact USD for these tokens."""
        if self.override is not None:
            return _override_money(self.override, tokens)
        from genai_prices import Usage

        usage = Usage(
            input_tokens=tokens.total_input,
            output_tokens=tokens.output,
            cache_write_tokens=tokens.cache_write,
            cache_read_tokens=tokens.cache_read,
        )
        if tokens.cache_write_1h:
            usage.cache_write_1h_tokens = tokens.cache_write_1h
        price: Decimal = _snapshot().calc(usage, self.model, "anthropic", None, self.at).total_price
        return price


def prices_for(model: str, at: datetime, config: Mapping[str, Any]) -> Prices:
    """The prices of `model` at `at`: the configuration's override, else genai-prices' bundled data."""
    overrides = config.get("prices") or {}
    if not isinstance(overrides, Mapping):
        raise ValueError("skills.llm_invoke.prices must be a table of MODEL = {input_mtok, output_mtok}")
    raw = overrides.get(model)
    if raw is not None:
        try:
            override = PriceOverride.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors(include_url=False))
            raise ValueError(f"skills.llm_invoke.prices.{model} is invalid: {problems}") from None
        return Prices(model, at, override, override.context_window)
    try:
        _, info = _snapshot().find_provider_model(model, None, "anthropic", None)
    except LookupError:
        raise UnknownModelPrice(
            f"no price for model {model!r} in genai-prices' bundled data; set "
            f'skills.llm_invoke.prices.{model} = {{input_mtok = "...", output_mtok = "..."}} (USD per million tokens)'
        ) from None
    return Prices(model, at, None, info.context_window)


def _override_money(price: PriceOverride, tokens: Tokens) -> Decimal:
    write = price.cache_write_mtok if price.cache_write_mtok is not None else price.input_mtok
    write_1h = price.cache_write_1h_mtok if price.cache_write_1h_mtok is not None else price.input_mtok
    read = price.cache_read_mtok if price.cache_read_mtok is not None else price.input_mtok
    per_million = (
        tokens.input * price.input_mtok
        + tokens.output * price.output_mtok
        + (tokens.cache_write - tokens.cache_write_1h) * write
        + tokens.cache_write_1h * write_1h
        + tokens.cache_read * read
    )
    return per_million / _MILLION


@cache
def _snapshot() -> Any:
    """genai-prices' bundled price data, independent of its process-global (updatable) snapshot."""
    from genai_prices.data import providers
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=providers, from_auto_update=False)
