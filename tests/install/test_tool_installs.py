"""`aos install` where people install CLIs: a `uv tool` environment and a pipx environment, neither
of which has pip (pipx here uses uv as its backend). aos-core is installed from this checkout
(its dependencies from the package registry); the plugin is one `aos plugin new` writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = [pytest.mark.install, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
TOOLS = Path(sys.executable).parent  # uv and pipx come with the test requirements


@dataclass
class Tool:
    """An `aos` installed by a tool, with its own AOS_HOME; `uv` reachable on PATH as a user has it."""

    aos_bin: Path
    python: Path
    env: dict[str, str]

    def aos(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.aos_bin), *args], capture_output=True, text=True, timeout=300,
                              env=self.env, check=False)  # fmt: skip


def run(*args: str | Path, env: dict[str, str]) -> None:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=600, env=env, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    parent = tmp_path_factory.mktemp("plugin")
    done = subprocess.run([sys.executable, "-m", "aos_core", "plugin", "new", "aos-skill-weather", "--dir",
                           str(parent), "--json"], capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    return Path(json.loads(done.stdout)["path"])


def base_env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHONPATH"))}
    env.update(PATH=f"{TOOLS}{os.pathsep}/usr/bin{os.pathsep}/bin", AOS_HOME=str(tmp / "home"))
    return env


@pytest.fixture(scope="module")
def uv_tool(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tool]:
    tmp = tmp_path_factory.mktemp("uv-tool")
    env = {**base_env(tmp), "UV_TOOL_DIR": str(tmp / "tools"), "UV_TOOL_BIN_DIR": str(tmp / "bin")}
    run(TOOLS / "uv", "tool", "install", "-q", ROOT, env=env)
    yield Tool(tmp / "bin" / "aos", tmp / "tools" / "aos-core" / "bin" / "python", env)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture(scope="module")
def pipx_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tool]:
    tmp = tmp_path_factory.mktemp("pipx")
    env = {**base_env(tmp), "PIPX_HOME": str(tmp / "pipx"), "PIPX_BIN_DIR": str(tmp / "bin")}
    run(TOOLS / "pipx", "install", ROOT, env=env)
    yield Tool(tmp / "bin" / "aos", tmp / "pipx" / "venvs" / "aos-core" / "bin" / "python", env)
    shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("where", ["uv_tool", "pipx_env"])
def test_aos_install_and_uninstall_work_without_pip(
    where: str, request: pytest.FixtureRequest, plugin_dir: Path
) -> None:
    """No pip in the environment: uv installs; the plugin works, `aos plugins` marks it as installed
    by aos install and says how to keep it across an upgrade; uninstall removes it, quietly
    skipping a name that is not installed."""
    tool: Tool = request.getfixturevalue(where)
    no_pip = subprocess.run([str(tool.python), "-c", "import pip"], capture_output=True, check=False)
    assert no_pip.returncode != 0, "the environment was expected to have no pip"
    installed = tool.aos("install", "-e", str(plugin_dir), "--json")
    assert installed.returncode == 0, installed.stderr
    report = json.loads(installed.stdout)
    assert report["installer"] == "uv" and [p["name"] for p in report["plugins"]] == ["weather"]
    ran = tool.aos("exec", "weather", "--params", '{"name": "Ada"}', "--json")
    assert json.loads(ran.stdout)["output"] == {"message": "Hello, Ada!"}
    listed = tool.aos("plugins")
    assert "aos-skill-weather 0.1.0 *" in listed.stdout
    assert "uv tool install aos-core --with aos-skill-weather" in listed.stdout
    removed = tool.aos("uninstall", "aos-skill-weather", "aos-skill-never-installed")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == (
        "Removed aos-skill-weather 0.1.0: plugin weather (skills: weather)\n"
        "aos-skill-never-installed is not installed; nothing to remove\n"
    )
    assert "aos-skill-weather" not in json.loads(tool.aos("plugins", "--json").stdout)["installed_by_aos"]


def test_without_pip_or_uv_aos_install_says_what_to_do(uv_tool: Tool, plugin_dir: Path) -> None:
    env = {**uv_tool.env, "PATH": f"/usr/bin{os.pathsep}/bin"}
    done = subprocess.run([str(uv_tool.aos_bin), "install", str(plugin_dir), "--json"], capture_output=True,
                          text=True, timeout=120, env=env, check=False)  # fmt: skip
    assert done.returncode == 1
    assert json.loads(done.stdout)["error"]["code"] == "INSTALL_FAILED"
    assert "uv tool install aos-core --with PLUGIN" in done.stderr


def test_the_documented_uv_tool_install_with_keeps_the_plugin(uv_tool: Tool, plugin_dir: Path) -> None:
    """What docs/plugins.md says survives an upgrade: reinstalling aos-core with the plugin."""
    run(TOOLS / "uv", "tool", "install", "-q", "--reinstall", ROOT, "--with", plugin_dir, env=uv_tool.env)
    skills = json.loads(uv_tool.aos("skills", "--json").stdout)["skills"]
    assert "weather" in {s["name"] for s in skills}
