"""A server's tool schemas are data from outside: one AOS cannot apply safely is left out at
refresh, with why, and never hangs or crashes a call."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from mcp_peers import refresh_table

from aos_core import Runtime
from aos_skill_mcp.schemas import check_schema

HOSTILE = Path(__file__).with_name("hostile_server.py")


def test_a_hostile_servers_schemas_are_left_out_at_refresh_and_the_rest_work(tmp_path: Path) -> None:
    table = {
        "cache": str(tmp_path / "tools.json"),
        "servers": {"h": {"command": sys.executable, "args": [str(HOSTILE)], "trusted": True, "side_effects": "read"}},
    }
    [report] = refresh_table(table)
    assert report["ok"] and report["tools"] == ["slug"], report
    skipped = {item["tool"]: item["reason"] for item in report["skipped"]}
    assert "'^(a+)+$' at /properties/s nests repetition" in skipped["redos"]
    assert "'http://127.0.0.1:9/x.json' at /properties/a is not a reference inside" in skipped["remote_ref"]
    assert "'#/$defs/missing'" in skipped["dangling_ref"]
    with Runtime(config={"plugins": {"mcp": table}}) as runtime:
        started = time.monotonic()
        assert runtime.execute("h__slug", {"s": "a" * 40 + "!"}).error.code == "SCHEMA_VALIDATION_FAILED"
        assert time.monotonic() - started < 5
        assert runtime.execute("h__slug", {"s": "well-formed"}).ok


@pytest.mark.parametrize(
    ("pattern", "refused"),
    [
        ("^(a+)+$", True),
        ("(a*)*", True),
        ("^(\\w+\\s?)*$", True),
        ("(a|b+)+", True),
        ("^[a-z]+(-[a-z]+)*$", False),
        ("^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+$", False),
        ("^\\d{3}-\\d{4}$", False),
        ("(?:a|b)*c", False),
    ],
)
def test_patterns_that_nest_repetition_are_refused_and_usual_ones_kept(pattern: str, refused: bool) -> None:
    problem = check_schema({"type": "object", "properties": {"s": {"type": "string", "pattern": pattern}}})
    assert (problem is not None) == refused, problem
    problem = check_schema({"type": "object", "patternProperties": {pattern: {}}})
    assert (problem is not None) == refused, problem


def test_local_references_are_followed() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/$defs/x"}, "b": {"$ref": "#"}}, "$defs": {"x": {}}}
    assert check_schema(schema) is None


def test_a_cache_written_before_these_checks_is_not_used_until_the_next_refresh(tmp_path: Path) -> None:
    """A tool list cached by an AOS that did not check schemas may hold a hostile tool: such a
    cache (format 1) offers no tool and says to refresh, and a refresh leaves the tool out."""
    import json

    cache = tmp_path / "tools.json"
    table = {
        "cache": str(cache),
        "servers": {"h": {"command": sys.executable, "args": [str(HOSTILE)], "trusted": True, "side_effects": "read"}},
    }
    refresh_table(table)
    data = json.loads(cache.read_text("utf-8"))
    redos = {"name": "redos", "inputSchema": {"type": "object", "properties": {"s": {"type": "string", "pattern": "^(a+)+$"}}}}
    data["servers"]["h"]["tools"].append(redos)  # as an AOS that did not check would have kept it
    cache.write_text(json.dumps({**data, "format": 1}), "utf-8")
    with Runtime(config={"plugins": {"mcp": table}}) as runtime:
        assert "h__redos" not in runtime.registry.skills and "h__slug" not in runtime.registry.skills
    from aos_skill_mcp import parse_config
    from aos_skill_mcp.tools import cached_tools

    [server] = cached_tools(parse_config(table))
    assert server.state == "unreadable cache" and "run `aos mcp refresh`" in (server.note or "")
    refresh_table(table)
    with Runtime(config={"plugins": {"mcp": table}}) as runtime:
        assert "h__slug" in runtime.registry.skills and "h__redos" not in runtime.registry.skills
