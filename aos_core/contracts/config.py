"""Runtime configuration: per-skill settings, switched-off plugins, limits; loadable from TOML."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["RuntimeConfig"]


class RuntimeConfig(BaseModel):
    """Settings of one `Runtime`. Nothing here is process-global."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    skills: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-skill configuration, e.g. skills.llm_invoke.base_url or price overrides.",
    )
    planners: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Per-planner configuration, e.g. planners.claude.model."
    )
    disabled_plugins: tuple[str, ...] = Field(default=(), description="Entry-point names not to load.")
    max_output_bytes: int = Field(default=10_000_000, gt=0, description="Largest skill output accepted.")
    history_limit: int = Field(default=10_000, ge=0, description="Outcomes kept in memory for query('history').")

    @classmethod
    def from_toml(cls, path: str | Path) -> RuntimeConfig:
        """Read a TOML file (`[skills.NAME]` tables, `disabled_plugins = [...]`)."""
        with open(path, "rb") as handle:
            return cls.model_validate(tomllib.load(handle))
