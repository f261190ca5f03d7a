"""The import contracts of `.importlinter` hold, stay complete, and fail on a deliberate violation."""

from __future__ import annotations

import configparser
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PUBLIC_CORE_MODULES = {"hookspecs", "testing"}
LAYERS = "aos_core layers, top to bottom (nothing imports a layer above it)"

LintImports = Callable[[Path], subprocess.CompletedProcess[str]]


def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read(ROOT / ".importlinter", encoding="utf-8")
    return parser


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]


def _children(package: Path) -> set[str]:
    """Names of the modules and subpackages directly under `package` (namespace folders too)."""
    names = {p.stem for p in package.glob("*.py") if p.name != "__init__.py"}
    names |= {d.name for d in package.iterdir() if d.is_dir() and any(d.rglob("*.py"))}
    return names


def test_lint_imports_passes_on_the_repository(lint_imports: LintImports) -> None:
    """Every contract in `.importlinter` is kept by the code as it is."""
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_source_folder_is_a_regular_package(packages: list[Path]) -> None:
    """import-linter cannot see a folder without `__init__.py`, so its imports would go unchecked."""
    missing = sorted(
        str(folder.relative_to(ROOT) / "__init__.py")
        for package in packages
        for folder in [package, *package.rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__" and any(folder.glob("*.py"))
        and not (folder / "__init__.py").exists()
    )
    assert not missing, f"add these files (a one-line docstring is enough): {missing}"


def test_every_distribution_is_a_root_package(packages: list[Path]) -> None:
    """Each skill and plugin package is under contract: a root package, source of both contracts."""
    config = _config()
    roots = set(_lines(config["importlinter"]["root_packages"]))
    distributions = {p.name for p in packages} - {"aos_core"}
    assert {p.name for p in packages} <= roots
    assert set(_lines(config["importlinter:contract:distributions-use-public-api"]["source_modules"])) == distributions
    assert set(_lines(config["importlinter:contract:distributions-independent"]["modules"])) == distributions
    forbidden = config["importlinter:contract:core-imports-no-distribution"]["forbidden_modules"]
    assert set(_lines(forbidden)) == distributions


def test_every_private_core_module_is_forbidden_to_distributions() -> None:
    """The forbidden list names every module under aos_core but the public ones, so none is missed."""
    expected = {f"aos_core.{name}" for name in _children(ROOT / "aos_core") - PUBLIC_CORE_MODULES}
    listed = set(_lines(_config()["importlinter:contract:distributions-use-public-api"]["forbidden_modules"]))
    missing, extra = sorted(expected - listed), sorted(listed - expected)
    assert not missing and not extra, (
        f"in .importlinter, contract distributions-use-public-api, forbidden_modules: add {missing}, remove {extra}"
    )


def test_architecture_doc_shows_the_layers_as_written() -> None:
    """docs/architecture.md quotes the layers contract exactly as `.importlinter` states it."""
    layers = _lines(_config()["importlinter:contract:core-layers"]["layers"])
    doc = (ROOT / "docs" / "architecture.md").read_text("utf-8")
    assert "layers =\n" + "".join(f"    {layer}\n" for layer in layers) in doc


VIOLATIONS = [
    pytest.param(
        "aos_core/contracts/cost.py",
        "import aos_skill_http",
        "aos_core imports no skill distribution and no plugin BROKEN",
        id="core-imports-a-skill",
    ),
    pytest.param(
        "aos_core/runtime.py",
        "import aos_plugin_files",
        "aos_core imports no skill distribution and no plugin BROKEN",
        id="core-imports-a-plugin",
    ),
    pytest.param(
        "aos_skill_json/skill.py",
        "from aos_core.contracts.errors import ErrorInfo",
        "import only aos_core, aos_core.hookspecs and aos_core.testing BROKEN",
        id="skill-imports-private-core",
    ),
    pytest.param(
        "aos_plugin_files/skill.py",
        "import aos_core.runtime",
        "import only aos_core, aos_core.hookspecs and aos_core.testing BROKEN",
        id="plugin-imports-private-core",
    ),
    pytest.param(
        "aos_skill_llm/skill.py",
        "import aos_skill_http",
        "Skill distributions and plugins never import each other BROKEN",
        id="skill-imports-skill",
    ),
    pytest.param(
        "aos_core/contracts/cost.py",
        "import aos_core.runtime",
        f"{LAYERS} BROKEN",
        id="contracts-import-runtime",
    ),
    pytest.param(
        "aos_core/execution/seeds.py",
        "import aos_core.planning.references",
        f"{LAYERS} BROKEN",
        id="executor-imports-planning",
    ),
    pytest.param(
        "aos_core/budget/ratelimit.py",
        "import aos_core.policy",
        f"{LAYERS} BROKEN",
        id="budget-imports-policy",
    ),
    pytest.param(
        "aos_core/testing/__init__.py",
        "import aos_core.cli.io",
        f"{LAYERS} BROKEN",
        id="testing-imports-cli",
    ),
]


@pytest.mark.parametrize(("module", "line", "broken"), VIOLATIONS)
def test_lint_imports_fails_on_a_violation(
    tree_copy: Path, append_line: Callable[[Path, str], None], lint_imports: LintImports,
    module: str, line: str, broken: str,
) -> None:
    """A deliberate forbidden import, added to a copy of the tree, breaks the contract named, naming the import."""
    append_line(tree_copy / module, f"{line}  # deliberate violation")
    result = lint_imports(tree_copy)
    output = " ".join(result.stdout.split())
    importer = module.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
    imported = line.split()[1]
    assert result.returncode == 1, result.stdout + result.stderr
    assert broken in output, result.stdout + result.stderr
    assert f"{importer} -> {imported}" in output, result.stdout + result.stderr


def test_lint_imports_fails_on_a_module_in_no_layer(tree_copy: Path, lint_imports: LintImports) -> None:
    """A new module directly under aos_core must be given a layer (the layers contract is exhaustive)."""
    (tree_copy / "aos_core" / "newthing.py").write_text('"""A module nobody placed."""\n', "utf-8")
    result = lint_imports(tree_copy)
    assert result.returncode == 1
    assert "aos_core.newthing" in result.stdout, result.stdout + result.stderr


def test_type_checking_imports_do_not_count(
    tree_copy: Path, append_line: Callable[[Path, str], None], lint_imports: LintImports
) -> None:
    """A name imported only for type checkers never runs, so it breaks no layer."""
    typing_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import aos_core.runtime"
    append_line(tree_copy / "aos_core/contracts/cost.py", typing_only)
    result = lint_imports(tree_copy)
    assert f"{LAYERS} KEPT" in " ".join(result.stdout.split()), result.stdout + result.stderr
