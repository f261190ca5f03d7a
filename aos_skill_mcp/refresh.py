"""`aos mcp refresh`: ask each configured server for its tools and write them to the cache.

Each server is started (or reached), listed page by page and stopped. Every tool is checked as the
core will check it when plugins load (`aos_core.testing.load_plugin`): a tool the core would
refuse (a schema that is not JSON Schema, a name that cannot be a skill) is kept out of the cache
with its reason, so one odd tool never withdraws the others. A server that cannot be reached keeps
its previous entry and is reported with the failure's code.
"""

from __future__ import annotations

import asyncio
import os
from datetime import UTC, datetime
from typing import Any

from aos_core import ErrorCode, SkillError, failure_catalog
from aos_skill_mcp.cache import fingerprint, write_server_entry
from aos_skill_mcp.config import McpConfig, ServerConfig
from aos_skill_mcp.schemas import check_schema

__all__ = ["EnvSecrets", "refresh"]


class EnvSecrets:
    """Secrets from the environment, for a refresh outside any `Runtime`: every value handed out or
    remembered is redacted from the report."""

    def __init__(self) -> None:
        self._values: dict[str, str] = {}

    def find(self, name: str) -> str | None:
        value = os.environ.get(name) or None
        if value is not None:
            self.remember(value, name)
        return value

    def remember(self, value: str, name: str) -> None:
        if len(value) >= 4:
            self._values[value] = name

    def redact(self, text: str) -> str:
        for value in sorted(self._values, key=len, reverse=True):
            text = text.replace(value, f"[REDACTED:{self._values[value]}]")
        return text


async def refresh(config: McpConfig, only: list[str] | None = None) -> list[dict[str, Any]]:
    """Refresh the servers named in `only` (default: every enabled one); one report per server."""
    unknown = sorted(set(only or ()) - set(config.servers))
    if unknown:
        known = ", ".join(sorted(config.servers)) or "none configured"
        raise ValueError(f"no MCP server named {', '.join(unknown)} in plugins.mcp.servers ({known})")
    names = [n for n in sorted(config.servers) if (n in only if only else config.servers[n].enabled)]
    reports = await asyncio.gather(*(_refresh_one(config, n, config.servers[n]) for n in names))
    return list(reports)


async def _refresh_one(config: McpConfig, name: str, server: ServerConfig) -> dict[str, Any]:
    from aos_skill_mcp.connection import ServerSession

    secrets = EnvSecrets()
    session = ServerSession(name, server)
    try:
        tools, info, protocol = await session.list_tools(secrets)
    except SkillError as exc:
        return _failed(name, exc.code, secrets.redact(exc.message))
    except Exception as exc:  # noqa: BLE001 - a server that breaks the protocol is reported, never a traceback
        text = secrets.redact(" ".join(f"{type(exc).__name__}: {exc}".split())[:300])
        return _failed(name, ErrorCode.CONNECTION_FAILED, f"MCP server {name} failed while listing its tools: {text}")
    finally:
        await session.aclose()
    kept, skipped = _checked(name, server, tools, info)
    entry = {
        "fingerprint": fingerprint(server),
        "refreshed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "server": info,
        "protocol": protocol,
        "tools": kept,
        "skipped": skipped,
    }
    write_server_entry(config.cache_path, name, entry)
    return {"server": name, "ok": True, "tools": [t["name"] for t in kept], "skipped": skipped, "server_info": info}


def _checked(
    name: str, server: ServerConfig, tools: list[dict[str, Any]], info: dict[str, Any]
) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
    """The tools the core accepts as skills, and the others with why."""
    from aos_core.testing import FakePlugin, load_plugin
    from aos_skill_mcp.skill import McpTool

    kept, skipped, taken = [], [], set()
    for tool in tools:
        tool_name = str(tool.get("name", ""))
        problem = check_schema(tool.get("inputSchema"))
        if problem is None and "outputSchema" in tool:
            problem = check_schema(tool["outputSchema"])
        skill = None
        if problem is None:
            try:
                skill = McpTool(name, server, tool, info)
            except Exception as exc:  # noqa: BLE001 - a tool that cannot be a skill is reported with why
                problem = f"{type(exc).__name__}: {exc}"
        if skill is not None and skill.metadata.name in taken:
            problem = f"its skill name {skill.metadata.name} is also another tool's"
        if skill is not None and problem is None:
            _, report = load_plugin(FakePlugin(skills=[skill], name=f"mcp-{name}"))
            problem = report.reason if report.status != "loaded" else None
        if problem is not None:
            skipped.append({"tool": tool_name, "reason": " ".join(problem.split())[:300]})
            continue
        assert skill is not None
        taken.add(skill.metadata.name)
        kept.append(tool)
    return kept, skipped


def _failed(name: str, code: ErrorCode, message: str) -> dict[str, Any]:
    entry = next(e for e in failure_catalog() if e.code == code)
    error = {"code": code.value, "category": entry.category.value, "message": message, "recovery": entry.recovery}
    return {"server": name, "ok": False, "error": error}
