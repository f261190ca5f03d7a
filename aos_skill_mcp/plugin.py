"""Entry point of aos-skill-mcp. Importing it stays cheap: no MCP SDK here.

`aos_register_skills` registers one skill per cached tool of each configured server (no server
is started to list them); `aos_register_commands` adds `aos mcp` (refresh, status, serve).
A malformed `[plugins.mcp]` table refuses the plugin with the key that is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aos_core import hookimpl
from aos_core.hookspecs import Register

if TYPE_CHECKING:
    import click


@hookimpl
def aos_register_skills(register: Register, config: Mapping[str, Any]) -> None:
    from aos_skill_mcp.config import parse_config
    from aos_skill_mcp.tools import cached_tools

    for server in cached_tools(parse_config(config)):
        for tool in server.tools:
            register(tool)


@hookimpl
def aos_register_commands(cli: click.Group) -> None:
    from aos_skill_mcp.commands import mcp

    cli.add_command(mcp)
