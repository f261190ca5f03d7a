"""The plugin's configuration: the `[plugins.mcp]` table of the AOS configuration.

    [plugins.mcp.servers.git]                  # a server started as a subprocess (stdio)
    command = "mcp-server-git"
    args = ["--repository", "/srv/repo"]
    trusted = true                             # believe its annotations (default: the safe side)
    price = "0.001"                            # money per call, reserved before each call

    [plugins.mcp.servers.git.tools.git_commit] # one tool's metadata, whatever the server says
    side_effects = "destructive"

    [plugins.mcp.servers.search]               # a server reached over streamable HTTP
    url = "https://search.example/mcp"
    headers = { Authorization = "Bearer ${secrets.SEARCH_TOKEN}" }

Every value of `env` and `headers` is treated as a secret: `${secrets.NAME}` is resolved when the
server is started, and every value is redacted from outcomes, errors and traces.
Only pydantic and aos-core here: this module is imported when plugins are discovered.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aos_core import CostModel, SideEffect

__all__ = [
    "McpConfig",
    "McpConfigError",
    "ServerConfig",
    "ToolSettings",
    "aos_home",
    "default_cache_path",
    "parse_config",
]

SERVER_NAME = r"^[a-z](?:[a-z0-9]|_(?!_)){0,29}$"  # no "__": it separates server and tool in skill names


class McpConfigError(ValueError):
    """The `[plugins.mcp]` table cannot be used; the message names the key and what is wrong."""


class ToolSettings(BaseModel):
    """What an operator says about a tool, over what its server's annotations say (None: keep)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    side_effects: SideEffect | None = Field(default=None, description="none, read, write or destructive.")
    idempotent: bool | None = None
    network: bool | None = Field(default=None, description="Whether a call reaches the open world.")
    timeout_ms: int | None = Field(default=None, gt=0, le=3_600_000)
    price: Decimal | None = Field(default=None, description='Money per call, a decimal string such as "0.002".')
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    expected_latency_ms: float | None = Field(default=None, ge=0)
    enabled: bool = Field(default=True, description="False: the tool (or the whole server) is not offered.")

    @field_validator("price", mode="before")
    @classmethod
    def _money(cls, value: Any) -> Any:
        if value is None:
            return None
        try:
            return CostModel(money_per_call=value).money_per_call
        except ValidationError as exc:
            raise ValueError(exc.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")) from None


class ServerConfig(ToolSettings):
    """One MCP server: a command to start (stdio) or a URL (streamable HTTP), and how far to trust it."""

    command: str | None = Field(default=None, min_length=1, description="Executable of a stdio server.")
    args: tuple[str, ...] = ()
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment; values are secrets.")
    cwd: str | None = None
    url: str | None = Field(default=None, pattern=r"^https?://", description="Streamable HTTP endpoint.")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers; values are secrets.")
    trusted: bool = Field(
        default=False,
        description="Believe the server's tool annotations; untrusted tools are treated as destructive, "
        "not idempotent and reaching the network.",
    )
    tools: dict[str, ToolSettings] = Field(default_factory=dict, description="Per-tool settings, by MCP tool name.")
    startup_timeout_ms: int = Field(default=30_000, gt=0, le=600_000, description="Time to start and handshake.")

    @model_validator(mode="after")
    def _one_transport(self) -> ServerConfig:
        if (self.command is None) == (self.url is None):
            raise ValueError("give either 'command' (a stdio server) or 'url' (streamable HTTP), not both or neither")
        if self.url is not None and (self.args or self.env or self.cwd):
            raise ValueError("'args', 'env' and 'cwd' are for a stdio server ('command'), not a 'url'")
        if self.command is not None and self.headers:
            raise ValueError("'headers' are for a server reached by 'url', not a 'command'")
        return self

    @property
    def transport(self) -> str:
        return "stdio" if self.command is not None else "http"

    def settings_for(self, tool: str) -> ToolSettings | None:
        return self.tools.get(tool)

    def secret_values(self) -> dict[str, str]:
        """The literal values to treat as secrets, by a name for them (references are resolved later)."""
        found = {f"env.{key}": value for key, value in self.env.items()}
        found.update({f"headers.{key}": value for key, value in self.headers.items()})
        return found


class McpConfig(BaseModel):
    """The whole `[plugins.mcp]` table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    servers: dict[str, ServerConfig] = Field(default_factory=dict)
    cache: str | None = Field(default=None, description="The tool-list cache file (default under $AOS_HOME).")

    @field_validator("servers")
    @classmethod
    def _names(cls, value: dict[str, ServerConfig]) -> dict[str, ServerConfig]:
        for name in value:
            if not re.match(SERVER_NAME, name):
                raise ValueError(
                    f"server name {name!r} must be lowercase letters, digits and single '_', "
                    "starting with a letter, at most 30 characters"
                )
        return value

    @property
    def cache_path(self) -> Path:
        return Path(self.cache).expanduser() if self.cache else default_cache_path()


def aos_home() -> Path:
    """`AOS_HOME`, else the platform's app directory for "aos" (where `aos` keeps its state)."""
    home = os.environ.get("AOS_HOME")
    if not home:
        import click

        home = click.get_app_dir("aos")
    return Path(home)


def default_cache_path() -> Path:
    """`$AOS_HOME/plugins/mcp/tools.json`: discovery's cache is keyed on the files under
    `$AOS_HOME/plugins`, so a refresh shows in `aos skills` at once."""
    return aos_home() / "plugins" / "mcp" / "tools.json"


def parse_config(config: Any) -> McpConfig:
    """The plugin's table as an `McpConfig`; `McpConfigError` naming the first bad key."""
    try:
        return McpConfig.model_validate(dict(config or {}))
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"])
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        message = first["msg"].removeprefix("Value error, ")
        raise McpConfigError(f"plugins.mcp.{where}: {message}{more}".replace("plugins.mcp.:", "plugins.mcp:")) from None
