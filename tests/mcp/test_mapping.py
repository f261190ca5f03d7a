"""From MCP annotations and operator settings to skill metadata; names; the configuration's errors."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from aos_core import SideEffect
from aos_core.testing import load_plugin
from aos_skill_mcp import McpConfigError, map_metadata, parse_config, skill_name

HINTS = {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True, "openWorldHint": False}


def _meta(annotations: dict[str, Any] | None, **server: Any) -> Any:
    config = parse_config({"servers": {"s": {"command": "x", **server}}})
    tool = {"name": "t", "description": "A tool.", "inputSchema": {"type": "object"}}
    if annotations is not None:
        tool["annotations"] = annotations
    return map_metadata("s", config.servers["s"], tool, {"name": "srv", "version": "1.2.3"})


@pytest.mark.parametrize(
    ("annotations", "expected"),
    [
        (HINTS, (SideEffect.READ, True, False)),
        ({"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False}, (SideEffect.WRITE, False, True)),
        (
            {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": True},
            (SideEffect.DESTRUCTIVE, True, True),
        ),
        ({}, (SideEffect.DESTRUCTIVE, False, True)),  # the specification's defaults: false, true, false, true
        (None, (SideEffect.DESTRUCTIVE, False, True)),
        ({"readOnlyHint": True, "idempotentHint": False}, (SideEffect.READ, True, True)),  # reads repeat safely
    ],
)
def test_a_trusted_servers_annotations_are_believed(annotations: Any, expected: tuple[Any, ...]) -> None:
    meta = _meta(annotations, trusted=True)
    assert (meta.side_effects, meta.idempotent, meta.network) == expected
    assert meta.deterministic is False and meta.version == "1.2.3"


def test_an_untrusted_servers_tools_are_on_the_safe_side_whatever_they_claim() -> None:
    meta = _meta(HINTS)
    assert (meta.side_effects, meta.idempotent, meta.network) == (SideEffect.DESTRUCTIVE, False, True)


def test_operator_settings_override_hints_per_server_then_per_tool() -> None:
    meta = _meta(
        HINTS, trusted=True, network=True, price="0.25", tools={"t": {"side_effects": "write", "timeout_ms": 900}}
    )
    assert (meta.side_effects, meta.idempotent, meta.network) == (SideEffect.WRITE, True, True)
    assert meta.cost.money_per_call == Decimal("0.25") and meta.timeout_ms == 900
    calm = _meta(None, tools={"t": {"side_effects": "read"}})  # untrusted, but the operator knows it only reads
    assert (calm.side_effects, calm.idempotent) == (SideEffect.READ, True)


@pytest.mark.parametrize(
    ("server", "tool", "name"),
    [("git", "git_status", "git__git_status"), ("web", "Fetch-URL", "web__fetch_url"), ("a", "x" * 70, None)],
)
def test_skill_names(server: str, tool: str, name: str | None) -> None:
    assert skill_name(server, tool) == name


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"servers": {"git": {}}}, "plugins.mcp.servers.git: give either 'command'"),
        ({"servers": {"Git": {"command": "x"}}}, "plugins.mcp.servers: server name 'Git' must be lowercase"),
        ({"servers": {"a__b": {"command": "x"}}}, "server name 'a__b'"),
        ({"servers": {"git": {"command": "x", "price": "-1"}}}, "plugins.mcp.servers.git.price: "),
        ({"servers": {"git": {"command": "x", "tools": {"t": {"side_effects": "boom"}}}}}, "tools.t.side_effects"),
        ({"servers": {"git": {"url": "ftp://x"}}}, "plugins.mcp.servers.git.url"),
        ({"sevrers": {}}, "plugins.mcp.sevrers: Extra inputs are not permitted"),
    ],
)
def test_a_bad_configuration_names_the_key(table: dict[str, Any], message: str) -> None:
    with pytest.raises(McpConfigError) as caught:
        parse_config(table)
    assert message in str(caught.value)


def test_a_bad_configuration_refuses_the_plugin_with_the_key() -> None:
    _, report = load_plugin("aos_skill_mcp.plugin", {"servers": {"git": {"command": "x", "trusted": "maybe"}}})
    assert report.status == "failed"
    assert "plugins.mcp.servers.git.trusted" in (report.reason or "")


def test_without_configuration_the_plugin_adds_only_its_command() -> None:
    _, report = load_plugin("aos_skill_mcp.plugin", {})
    assert report.status == "loaded" and report.skills == () and report.commands == ("mcp",)
