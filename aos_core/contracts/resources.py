"""Resource contracts: the limits declared before a run and enforced by the runtime."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aos_core.contracts.money import Money

__all__ = ["RateLimit", "ResourceContract"]


class RateLimit(BaseModel):
    """A token bucket for one skill: `per_second` refill, up to `burst` calls at once."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    per_second: float = Field(gt=0)
    burst: int = Field(default=1, ge=1)
    on_limit: Literal["wait", "fail"] = "wait"


class ResourceContract(BaseModel):
    """Budgets, rate limits and concurrency for a run. `None` means no limit."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str = "default"
    max_input_tokens: int | None = Field(default=None, ge=0)
    max_output_tokens: int | None = Field(default=None, ge=0)
    max_money: Money | None = None
    currency: str = Field(default="USD", min_length=3, max_length=3)
    max_calls: int | None = Field(default=None, ge=0)
    max_wall_time_ms: int | None = Field(default=None, gt=0)
    max_concurrency: int | None = Field(default=None, ge=1)
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
