"""Shared pieces of the architecture guards: where the code lives, and a copy of it to break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SKILL_PACKAGES = ("aos_skill_http", "aos_skill_json", "aos_skill_llm", "aos_server", "aos_skill_mcp")


def plugin_packages() -> list[Path]:
    """The import packages of the example plugins: plugins/<dist>/<package>/."""
    return sorted(p.parent for p in ROOT.glob("plugins/*/*/__init__.py") if p.parent.parent.name != "tests")


def source_packages() -> list[Path]:
    """Every shipped import package of the repository: aos_core, the skills, the server, the plugins."""
    return [ROOT / "aos_core", *(ROOT / name for name in SKILL_PACKAGES), *plugin_packages()]


def run_lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` with the `.importlinter` found in `cwd`; `cwd` comes first on sys.path.

    The plugin folders go on PYTHONPATH so their packages are found even where they are not
    installed; a copy in `cwd` still shadows them.
    """
    paths = [str(package.parent) for package in plugin_packages()]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, os.environ.get("PYTHONPATH", "")])}
    return subprocess.run(
        [str(BIN / "lint-imports"), "--no-cache"], cwd=cwd, env=env, capture_output=True, text=True, timeout=120,
        check=False,
    )


@pytest.fixture
def lint_imports() -> Callable[[Path], subprocess.CompletedProcess[str]]:
    """`lint_imports(directory)` runs lint-imports there."""
    return run_lint_imports


@pytest.fixture
def packages() -> list[Path]:
    """Every shipped import package of the repository."""
    return source_packages()


_IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc", "tests", "pyproject.toml", "py.typed")


@pytest.fixture
def tree_copy(tmp_path: Path) -> Path:
    """A flat copy of every package plus `.importlinter`, for lint-imports to check after a test breaks it.

    lint-imports puts its working directory first on sys.path, so the copies shadow the
    editable installs.
    """
    for package in source_packages():
        shutil.copytree(package, tmp_path / package.name, ignore=_IGNORED)
    # A folder without __init__.py is invisible to import-linter; test_import_contracts reports
    # such folders in the real tree, and here they are filled in so that the copy tests the
    # contracts themselves.
    for folder in [p for p in tmp_path.rglob("*") if p.is_dir()]:
        if any(folder.glob("*.py")) and not (folder / "__init__.py").exists():
            (folder / "__init__.py").write_text("", "utf-8")
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


@pytest.fixture
def append_line() -> Callable[[Path, str], None]:
    """Append one line of code to a module."""

    def append(path: Path, line: str) -> None:
        path.write_text(path.read_text("utf-8") + f"\n{line}\n", "utf-8")

    return append
