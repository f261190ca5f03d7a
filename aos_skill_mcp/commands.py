"""`aos mcp`: refresh the tool-list cache, show what it holds, serve AOS skills over MCP.

Only click here; each command imports what it needs when it runs. Exit codes are the `aos`
ones: 0 ok, 2 usage, 3 validation, 4 permission, 5 resource, 6 transient, 7 permanent.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["mcp"]

EXIT_CODES = {"VALIDATION": 3, "PERMISSION": 4, "RESOURCE": 5, "TRANSIENT": 6, "PERMANENT": 7}

_config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Runtime configuration TOML (default: $AOS_HOME/config.toml when present).",
)
_json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON for machines.")


def runtime_config(path: Path | None) -> Any:
    """The `RuntimeConfig` from `path`, else `$AOS_HOME/config.toml` when it exists, else an empty one."""
    from aos_core import RuntimeConfig
    from aos_skill_mcp.config import aos_home

    if path is None:
        home_config = aos_home() / "config.toml"
        if not home_config.exists():
            return RuntimeConfig()
        path = home_config
    try:
        return RuntimeConfig.from_toml(path)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


def mcp_config(path: Path | None) -> Any:
    from aos_skill_mcp.config import McpConfigError, parse_config

    try:
        return parse_config(runtime_config(path).plugins.get("mcp", {}))
    except McpConfigError as exc:
        raise click.UsageError(str(exc)) from None


@click.group()
def mcp() -> None:
    """MCP both ways: servers' tools as skills (refresh, status), AOS skills over MCP (serve).

    Configure servers in config.toml under [plugins.mcp.servers.NAME] (docs/mcp.md); `aos mcp
    refresh` lists their tools into a cache, and `aos skills` shows each tool as the skill
    NAME__TOOL without starting any server.
    """


@mcp.command()
@click.argument("servers", nargs=-1)
@_config_option
@_json_option
def refresh(servers: tuple[str, ...], config_path: Path | None, as_json: bool) -> None:
    """Ask the configured MCP servers for their tools and cache them.

    Starts (or reaches) each server, lists its tools and stops it. A tool the core would refuse
    is left out with its reason; a server that cannot be reached keeps its previous tools and
    ends the command with exit 6 (transient).

    \b
    Examples:
      aos mcp refresh
      aos mcp refresh git --json
    """
    import asyncio

    from aos_skill_mcp.refresh import refresh as run_refresh

    config = mcp_config(config_path)
    if not config.servers:
        raise click.UsageError("no MCP server is configured: add [plugins.mcp.servers.NAME] to config.toml")
    try:
        reports = asyncio.run(run_refresh(config, list(servers) or None))
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        click.echo(json.dumps({"servers": reports, "cache": str(config.cache_path)}, sort_keys=True))
    else:
        for report in reports:
            if report["ok"]:
                info = report["server_info"]
                origin = f"{info.get('name', '?')} {info.get('version', '?')}"
                click.echo(f"{report['server']}: {len(report['tools'])} tool(s) from {origin}")
                for skipped in report["skipped"]:
                    click.echo(f"  left out {skipped['tool']}: {skipped['reason']}")
            else:
                error = report["error"]
                click.echo(f"{report['server']}: {error['code']}: {error['message']}")
    failed = [r for r in reports if not r["ok"]]
    if failed:
        error = failed[0]["error"]
        click.echo(f"aos: {len(failed)} server(s) could not be refreshed: {error['message']}", err=True)
        sys.exit(EXIT_CODES[error["category"]])


@mcp.command()
@_config_option
@_json_option
def status(config_path: Path | None, as_json: bool) -> None:
    """Show the configured MCP servers and the skills their cached tools give; starts nothing.

    \b
    Examples:
      aos mcp status
      aos mcp status --json
    """
    from aos_skill_mcp.tools import cached_tools

    config = mcp_config(config_path)
    rows = []
    for found in cached_tools(config):
        server = config.servers[found.name]
        rows.append(
            {
                "server": found.name,
                "transport": server.transport,
                "trusted": server.trusted,
                "state": found.state,
                "note": found.note,
                "refreshed_at": found.refreshed_at,
                "server_info": found.server_info,
                "skills": [
                    {"name": t.metadata.name, "tool": t.tool_name, "side_effects": t.metadata.side_effects.value,
                     "idempotent": t.metadata.idempotent, "network": t.metadata.network}
                    for t in found.tools
                ],
                "skipped": found.skipped,
            }
        )  # fmt: skip
    if as_json:
        click.echo(json.dumps({"servers": rows, "cache": str(config.cache_path)}, sort_keys=True))
        return
    if not rows:
        click.echo("No MCP server is configured: add [plugins.mcp.servers.NAME] to config.toml (docs/mcp.md).")
    for row in rows:
        trust = "trusted" if row["trusted"] else "untrusted"
        click.echo(
            f"{row['server']} ({row['transport']}, {trust}): {row['state']}"
            + (f" - {row['note']}" if row["note"] else "")
        )
        for skill in row["skills"]:
            flags = [
                skill["side_effects"],
                *(["idempotent"] if skill["idempotent"] else []),
                *(["net"] if skill["network"] else []),
            ]
            click.echo(f"  {skill['name']}  [{','.join(flags)}]")
        for skipped in row["skipped"]:
            click.echo(f"  (left out {skipped['tool']}: {skipped['reason']})")


@mcp.command()
@click.option("--http", "use_http", is_flag=True, help="Serve streamable HTTP instead of stdio.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (--http).")
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port (--http; 0: any free one)."
)
@click.option(
    "--contract", default=None, help="ResourceContract JSON (inline, @FILE or -): one budget for every call served."
)
@click.option(
    "--profile",
    "profile_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="AgentProfile JSON file: policy, allowed skills.",
)
@click.option("--approve", multiple=True, help="Approve SKILL in advance (repeatable; 'all' approves every one).")
@click.option(
    "--skill", "skills", multiple=True, help="Offer only this skill (repeatable; default: every allowed skill)."
)
@click.option(
    "--store", default=None, help="Run store: a path, sqlite:///PATH or postgresql://... (default: $AOS_HOME)."
)
@click.option("--plans", is_flag=True, help="Also offer aos.simulate and aos.run, which take a whole plan.")
@_config_option
def serve(
    use_http: bool,
    host: str,
    port: int,
    contract: str | None,
    profile_path: Path | None,
    approve: tuple[str, ...],
    skills: tuple[str, ...],
    store: str | None,
    plans: bool,
    config_path: Path | None,
) -> None:
    """Serve the installed skills as MCP tools (stdio, or --http on 127.0.0.1).

    Every call runs as a one-step AOS run under the server's contract (one budget for all calls),
    its policy and approvals, and is recorded in the run store (`aos runs`, `aos replay`). A
    failed call is a tool error carrying the failure's code, category and recovery.

    \b
    Examples:
      aos mcp serve --contract '{"max_money": "1.00", "max_calls": 100}'
      aos mcp serve --http --port 8765 --skill json_transform
      aos mcp serve --plans          # also aos.simulate and aos.run (a whole plan per call)
    """
    from aos_skill_mcp.serving import ServeOptions, serve_forever

    options = ServeOptions(
        http=use_http,
        host=host,
        port=port,
        contract=_json_argument(contract, "--contract") if contract else None,
        profile=_json_argument(f"@{profile_path}", "--profile") if profile_path else None,
        approve=approve,
        skills=skills,
        store=store,
        config=runtime_config(config_path),
        plans=plans,
    )
    serve_forever(options)


def _json_argument(text: str, option: str) -> Any:
    """Inline JSON, @FILE or - (stdin); a usage error naming the option otherwise."""
    try:
        if text == "-":
            raw = sys.stdin.read()
        elif text.startswith("@"):
            raw = Path(text[1:]).read_text("utf-8")
        else:
            raw = text
        return json.loads(raw)
    except OSError as exc:
        raise click.UsageError(f"{option}: cannot read {text[1:]}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise click.UsageError(f"{option}: not valid JSON: {exc}") from None
