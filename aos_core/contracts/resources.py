"""Resource contracts: the limits declared before a run and enforced by the runtime.

What a contract covers: a contract without an `id` is the budget of one run (each run gets its
own) or, for `Runtime.execute`, of that `Runtime`'s direct calls. A contract with an `id` is one
budget for everything that names it: every run and direct call of the `Runtime`, and, where the
runs are stored in a shared store, every process and worker using that store. Its rate limits
cover exactly what its budget covers (held in the store too); its `max_concurrency` bounds the
calls in flight in each process.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aos_core.contracts.money import Money

__all__ = ["RateLimit", "ResourceContract"]

_MAX_COUNT = 10**15  # tokens and calls: far above any real budget, far below trouble


class RateLimit(BaseModel):
    """A token bucket for one skill: `per_second` refill, up to `burst` calls at once."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    per_second: float = Field(gt=0, le=1_000_000, allow_inf_nan=False)
    burst: int = Field(default=1, ge=1, le=1_000_000, strict=True)
    on_limit: Literal["wait", "fail"] = "wait"


class ResourceContract(BaseModel):
    """Budgets, rate limits and concurrency. `None` means no limit; see the module docstring
    for what a contract with and without an `id` covers."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9_.:@/-]+$",
        description="Name a contract to share one budget between runs, calls and processes; "
        "without one, each run has its own.",
    )
    max_input_tokens: int | None = Field(default=None, ge=0, le=_MAX_COUNT, strict=True)
    max_output_tokens: int | None = Field(default=None, ge=0, le=_MAX_COUNT, strict=True)
    max_money: Money | None = None
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    max_calls: int | None = Field(default=None, ge=0, le=_MAX_COUNT, strict=True)
    max_wall_time_ms: int | None = Field(default=None, gt=0, le=10**10, strict=True)
    max_concurrency: int | None = Field(default=None, ge=1, le=100_000, strict=True)
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)

    @property
    def shared(self) -> bool:
        """Whether this contract is one budget for everything that names it."""
        return self.id is not None

    @property
    def limited(self) -> bool:
        """Whether any limit is set (a contract without one only counts what is spent)."""
        return (
            self.max_input_tokens is not None
            or self.max_output_tokens is not None
            or self.max_money is not None
            or self.max_calls is not None
            or self.max_wall_time_ms is not None
            or self.max_concurrency is not None
            or bool(self.rate_limits)
        )
