"""What memory hands back: items and search hits, plain JSON data when dumped."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MemoryItem", "SearchHit"]


class MemoryItem(BaseModel):
    """One stored value under a namespace and a key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    namespace: tuple[str, ...] = Field(description="Labels from the most general to the most specific.")
    key: str
    value: Any = Field(description="The JSON value, exactly as it was put.")
    created_at: datetime = Field(description="When the key was first put (or put again after it expired).")
    updated_at: datetime = Field(description="When the value was last put.")
    expires_at: datetime | None = Field(default=None, description="After this the item is invisible; None: never.")


class SearchHit(MemoryItem):
    """An item found by `search`, with its relevance (higher is better; None without a query)."""

    score: float | None = None
