"""From an MCP tool definition to AOS skill metadata: names, annotations, operator settings.

The annotations (`readOnlyHint`, `destructiveHint`, `idempotentHint`, `openWorldHint`; spec
defaults false, true, false, true) are hints the MCP specification tells clients not to trust
from an untrusted server. So:

- a **trusted** server's annotations are believed: read-only -> side effects `read` (changes
  nothing, may always be repeated); else destructive -> `destructive` (needs approval under the
  default policy), not destructive -> `write`; idempotent (or read-only) -> `idempotent`, which
  lets a failed call be retried and a call in flight at a crash be repeated on resume;
  open-world -> `network`.
- an **untrusted** server's (the default) are not: every tool is `destructive`, not idempotent,
  `network`, whatever it claims.
- then the operator's settings for the server, then for the tool, override either.

Every MCP tool is non-deterministic (its answer comes from outside), so a replay serves the
recorded result and never calls the server.
"""

from __future__ import annotations

import re
from typing import Any

from aos_core import CostModel, ErrorCode, SideEffect, SkillMetadata
from aos_skill_mcp.config import ServerConfig, ToolSettings

__all__ = ["FAILURE_CODES", "SEPARATOR", "map_metadata", "skill_name"]

SEPARATOR = "__"
_SKILL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+(?:[-+.][0-9A-Za-z.+-]+)?$")
_DEFAULT_TIMEOUT_MS = 30_000

FAILURE_CODES = (
    ErrorCode.TOOL_ERROR,
    ErrorCode.CONNECTION_FAILED,
    ErrorCode.TIMEOUT,
    ErrorCode.INVALID_INPUT,
    ErrorCode.OUTPUT_VALIDATION_FAILED,
    ErrorCode.SKILL_NOT_FOUND,
    ErrorCode.PERMISSION_DENIED,
    ErrorCode.HTTP_4XX,
    ErrorCode.HTTP_5XX,
)


def skill_name(server: str, tool: str) -> str | None:
    """`<server>__<tool>`, the tool's name lowercased with other characters made `_`; None when
    that is not a usable skill name (longer than 64 characters)."""
    name = f"{server}{SEPARATOR}{re.sub(r'[^a-z0-9_]', '_', tool.lower())}"
    return name if _SKILL_NAME.match(name) else None


def _hinted(annotations: dict[str, Any], trusted: bool) -> tuple[SideEffect, bool, bool]:
    """(side effects, idempotent, network) from the annotations, on the safe side unless trusted."""
    if not trusted:
        return SideEffect.DESTRUCTIVE, False, True
    read_only = annotations.get("readOnlyHint") is True
    destructive = annotations.get("destructiveHint") is not False
    idempotent = read_only or annotations.get("idempotentHint") is True
    network = annotations.get("openWorldHint") is not False
    effects = SideEffect.READ if read_only else (SideEffect.DESTRUCTIVE if destructive else SideEffect.WRITE)
    return effects, idempotent, network


def _pick(attr: str, layers: tuple[ToolSettings | None, ...], default: Any) -> Any:
    for layer in layers:
        value = getattr(layer, attr) if layer is not None else None
        if value is not None:
            return value
    return default


def map_metadata(
    server_name: str, server: ServerConfig, tool: dict[str, Any], server_info: dict[str, Any]
) -> SkillMetadata:
    """The skill metadata of MCP tool `tool` (as `tools/list` sends it) of server `server_name`.
    `ValueError` when the tool cannot be a skill (its name)."""
    tool_name = str(tool.get("name", ""))
    name = skill_name(server_name, tool_name)
    if name is None:
        raise ValueError(
            f"tool {tool_name[:80]!r} of server {server_name!r} gives no usable skill name (at most 64 characters)"
        )
    annotations = tool.get("annotations") or {}
    effects, idempotent, network = _hinted(annotations if isinstance(annotations, dict) else {}, server.trusted)
    layers = (server.settings_for(tool_name), server)  # the tool's own settings first
    effects = _pick("side_effects", layers, effects)
    if effects in (SideEffect.NONE, SideEffect.READ):
        idempotent = True  # a call that changes nothing can always be repeated
    version = str(server_info.get("version") or "")
    description = " ".join(str(tool.get("description") or "").split())
    title = annotations.get("title") if isinstance(annotations, dict) else None
    summary = description or str(tool.get("title") or title or "") or f"MCP tool {tool_name} of server {server_name}."
    return SkillMetadata(
        name=name,
        version=version if _VERSION.match(version) else "0.0.0",
        description=summary[:497] + "..." if len(summary) > 500 else summary,
        side_effects=effects,
        network=_pick("network", layers, network),
        idempotent=_pick("idempotent", layers, idempotent),
        deterministic=False,
        timeout_ms=_pick("timeout_ms", layers, _DEFAULT_TIMEOUT_MS),
        cost=CostModel(money_per_call=_pick("price", layers, 0), currency=_pick("currency", layers, "USD")),
        failure_codes=FAILURE_CODES,
        permissions=("mcp", *(("net",) if _pick("network", layers, network) else ())),
        expected_latency_ms=_pick("expected_latency_ms", layers, None),
    )
