"""Which skills the configured servers give, from the tool-list cache alone (no server started).

`cached_tools` is what the plugin registers and what `aos mcp status` reports: for each
configured server, the skills its cached tools become, and why any tool or server gives none
(not refreshed yet, stale after its command or URL changed, disabled, a tool refused at refresh).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from aos_skill_mcp.cache import fingerprint, read_cache
from aos_skill_mcp.config import McpConfig

__all__ = ["ServerTools", "cached_tools"]


@dataclass
class ServerTools:
    """One configured server as the cache knows it."""

    name: str
    state: str  # "ready", "not refreshed", "stale", "disabled", "unreadable cache"
    tools: list[Any] = field(default_factory=list)  # McpTool objects
    skipped: list[dict[str, str]] = field(default_factory=list)  # {"tool", "reason"}
    refreshed_at: str | None = None
    server_info: dict[str, Any] = field(default_factory=dict)
    note: str | None = None


def cached_tools(config: McpConfig) -> list[ServerTools]:
    """Every configured server with the skills its cached tools give, sorted by server name."""
    from aos_skill_mcp.skill import McpTool

    entries, problem = read_cache(config.cache_path)
    found = []
    for name, server in sorted(config.servers.items()):
        entry = entries.get(name)
        if not server.enabled:
            found.append(ServerTools(name, "disabled", note="enabled = false"))
            continue
        if problem is not None:
            found.append(ServerTools(name, "unreadable cache", note=problem))
            continue
        if entry is None:
            found.append(ServerTools(name, "not refreshed", note="run `aos mcp refresh` to list its tools"))
            continue
        info = entry.get("server") if isinstance(entry.get("server"), dict) else {}
        listed = ServerTools(name, "ready", refreshed_at=entry.get("refreshed_at"), server_info=info)
        listed.skipped = [s for s in entry.get("skipped", []) if isinstance(s, dict)]
        if entry.get("fingerprint") != fingerprint(server):
            listed.state, listed.note = "stale", "its command, args, cwd or url changed: run `aos mcp refresh`"
            found.append(listed)
            continue
        taken: set[str] = set()
        for tool in entry.get("tools", []):
            tool_name = str(tool.get("name", "")) if isinstance(tool, dict) else ""
            settings = server.settings_for(tool_name)
            if settings is not None and not settings.enabled:
                listed.skipped.append({"tool": tool_name, "reason": "disabled in the configuration"})
                continue
            try:
                skill = McpTool(name, server, tool, info)
            except Exception as exc:  # noqa: BLE001 - one tool that cannot be a skill must not hide the others
                listed.skipped.append({"tool": tool_name, "reason": f"{type(exc).__name__}: {exc}"[:300]})
                continue
            if skill.metadata.name in taken:
                listed.skipped.append({"tool": tool_name, "reason": f"its skill name {skill.metadata.name} is taken"})
                continue
            taken.add(skill.metadata.name)
            listed.tools.append(skill)
        found.append(listed)
    return found
