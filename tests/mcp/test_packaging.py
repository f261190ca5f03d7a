"""What plugin discovery sees of aos-skill-mcp: a cheap entry point, a pinned surface, a typed package."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import aos_skill_mcp

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_plugin_imports_no_mcp_sdk() -> None:
    heavy = ("mcp", "mcp_types", "anyio", "httpx2", "jsonschema", "uvicorn", "starlette", "sse_starlette", "asyncio")
    code = f"import sys, aos_skill_mcp.plugin; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_public_names_are_pinned() -> None:
    assert aos_skill_mcp.__all__ == [
        "McpConfig",
        "McpConfigError",
        "McpTool",
        "ServerConfig",
        "ToolSettings",
        "__version__",
        "map_metadata",
        "parse_config",
        "skill_name",
    ]


def test_the_distribution_is_typed_and_found_through_the_aos_entry_point_group() -> None:
    project = tomllib.loads((ROOT / "aos_skill_mcp" / "pyproject.toml").read_text("utf-8"))
    assert project["project"]["name"] == "aos-skill-mcp"
    assert project["project"]["entry-points"]["aos"] == {"mcp": "aos_skill_mcp.plugin"}
    assert project["tool"]["setuptools"]["package-data"]["aos_skill_mcp"] == ["py.typed"]
    assert (ROOT / "aos_skill_mcp" / "py.typed").exists()
    assert project["project"]["version"] == aos_skill_mcp.__version__
