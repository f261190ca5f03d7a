"""Runtime configuration: per-skill settings, per-plugin tables, switched-off plugins, limits;
loadable from TOML."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

__all__ = ["ConfigError", "RuntimeConfig"]


class ConfigError(ValueError):
    """A configuration file that cannot be used; the message names the file and what is wrong."""


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
    plugins: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Per-plugin configuration by entry-point name, e.g. plugins.mcp.servers; each plugin's "
        "hooks receive their own table as `config`.",
    )
    disabled_plugins: tuple[str, ...] = Field(default=(), description="Entry-point names not to load.")
    max_output_bytes: int = Field(default=10_000_000, gt=0, description="Largest skill output accepted.")
    history_limit: int = Field(default=10_000, ge=0, description="Outcomes kept in memory for query('history').")
    memory: str | None = Field(
        default=None,
        description="The memory store's URL (a path, sqlite:///PATH, postgresql://...); default AOS_MEMORY, "
        "else $AOS_HOME/memory.sqlite3.",
    )
    memory_embedder: str | None = Field(
        default=None, description="The embedder for semantic memory search (hashing, all-minilm-l6-v2, a plugin's)."
    )

    @classmethod
    def from_toml(cls, path: str | Path) -> RuntimeConfig:
        """Read a TOML file (`[skills.NAME]`, `[planners.NAME]`, `[plugins.NAME]` tables,
        `disabled_plugins = [...]`); `ConfigError` names the file, and the line when the TOML is
        malformed."""
        try:
            with open(path, "rb") as handle:
                data = tomllib.load(handle)
        except FileNotFoundError:
            raise ConfigError(f"configuration file {path} does not exist") from None
        except OSError as exc:
            raise ConfigError(f"cannot read configuration file {path}: {exc.strerror or exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not UTF-8 text (byte {exc.start})") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"configuration file {path} is not valid TOML: {exc}") from None
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "(top level)"
            more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
            raise ConfigError(f"configuration file {path}: {where}: {first['msg']}{more}") from None
