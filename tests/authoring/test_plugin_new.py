"""`aos plugin new`: names, refusals, and generated distributions whose own tests pass."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from aos_core.cli.scaffold import BadName, blueprint, render

ROOT = Path(__file__).resolve().parents[2]

KINDS = {
    "skill": "aos-skill-alpha",
    "planner": "aos-planner-beta",
    "classifier": "aos-classifier-gamma",
    "estimator": "aos-estimator-delta",
}


@pytest.mark.parametrize(
    ("raw", "package", "name", "entry"),
    [
        ("aos-skill-weather", "aos_skill_weather", "weather", "weather"),
        ("aos_skill_weather", "aos_skill_weather", "weather", "weather"),
        ("AOS-Skill-Weather", "aos_skill_weather", "weather", "weather"),
        ("aos-planner-rules-v2", "aos_planner_rules_v2", "rules_v2", "rules-v2"),
        ("aos-weather", "aos_weather", "weather", "weather"),
        ("weather-tools", "weather_tools", "weather_tools", "weather-tools"),
    ],
)
def test_names_are_derived_from_the_distribution_name(raw: str, package: str, name: str, entry: str) -> None:
    """The package, the skill's name and the entry point all follow from one distribution name."""
    plan = blueprint(raw)
    assert (plan.package, plan.name, plan.entry) == (package, name, entry)
    assert plan.entry_point == f"{entry} = {package}.plugin"


@pytest.mark.parametrize(
    "raw", ["Weather!", "1weather", "aos skill", "aos-skill-", "aos-skill", "-x", "aos-core", "json", "class"]
)
def test_names_that_cannot_make_a_plugin_are_refused(raw: str) -> None:
    """Bad characters, nothing left after the prefix, or a taken package name: refused, with why."""
    with pytest.raises(BadName):
        blueprint(raw)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_renders_valid_python_and_a_pyproject_with_the_entry_point(kind: str) -> None:
    """Each template fills every placeholder and gives parseable files."""
    plan = blueprint(KINDS[kind], kind)
    files = render(plan)
    for path, text in files.items():
        assert "{{" not in text, path
        if path.endswith(".py"):
            ast.parse(text, path)
    project = tomllib.loads(files["pyproject.toml"])
    assert project["project"]["entry-points"]["aos"] == {plan.entry: f"{plan.package}.plugin"}
    assert project["project"]["name"] == plan.dist


def test_the_cli_writes_the_distribution_and_reports_it_as_json(aos_cli: Any, tmp_path: Path) -> None:
    """`--json` says what was written, where, and the entry point."""
    result = aos_cli("plugin", "new", "aos-skill-weather", "--dir", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["entry_point"] == "weather = aos_skill_weather.plugin"
    assert report["path"] == str(tmp_path / "aos-skill-weather")
    for relative in report["files"]:
        assert (tmp_path / "aos-skill-weather" / relative).is_file()
    assert "tests/test_weather.py" in report["files"]


def test_a_bad_name_exits_2_and_writes_nothing(aos_cli: Any, tmp_path: Path) -> None:
    """A usage error: exit 2, the reason on stderr, no folder."""
    result = aos_cli("plugin", "new", "Weather!", "--dir", str(tmp_path))
    assert result.returncode == 2
    assert "not a usable distribution name" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_overwritten(aos_cli: Any, tmp_path: Path) -> None:
    """A second `plugin new` of the same name exits 2 and leaves the first one's files alone."""
    assert aos_cli("plugin", "new", "aos-skill-weather", "--dir", str(tmp_path)).returncode == 0
    plugin = tmp_path / "aos-skill-weather" / "aos_skill_weather" / "plugin.py"
    plugin.write_text("# mine\n")
    again = aos_cli("plugin", "new", "aos-skill-weather", "--dir", str(tmp_path))
    assert again.returncode == 2
    assert "already exists" in again.stderr
    assert plugin.read_text() == "# mine\n"


@pytest.mark.parametrize(("raw", "kind"), [("aos-skill-http-call", "skill"), ("aos-planner-stub", "planner")])
def test_a_name_an_installed_plugin_already_provides_is_refused(
    aos_cli: Any, tmp_path: Path, raw: str, kind: str
) -> None:
    """`http_call` is aos-skill-http's: a second one would knock both out. Exit 2, nothing written."""
    result = aos_cli("plugin", "new", raw, "--kind", kind, "--dir", str(tmp_path))
    assert result.returncode == 2, result.stdout
    taken = raw.removeprefix(f"aos-{kind}-").replace("-", "_")
    assert f"would make the {kind} {taken!r}, which plugin" in result.stderr
    assert "already provides" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_generated_tests_pass_before_installing(aos_cli: Any, tmp_path: Path) -> None:
    """`pytest aos-skill-alpha`, as the next steps say, finds the package with no install and no
    PYTHONPATH (pythonpath = ["."]; the `pytest` script, unlike `python -m pytest`, adds no cwd)."""
    assert aos_cli("plugin", "new", "aos-skill-alpha", "--dir", str(tmp_path)).returncode == 0
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run(
        [str(Path(sys.executable).parent / "pytest"), "-q", "-p", "no:cacheprovider", "aos-skill-alpha"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout


def test_an_unknown_kind_is_a_usage_error(aos_cli: Any, tmp_path: Path) -> None:
    assert aos_cli("plugin", "new", "aos-skill-x", "--kind", "robot", "--dir", str(tmp_path)).returncode == 2


def test_the_generated_tests_of_every_kind_pass(aos_cli: Any, tmp_path: Path) -> None:
    """Without installing: each kind's own tests pass against its own plugin module."""
    folders = []
    for kind, name in KINDS.items():
        assert aos_cli("plugin", "new", name, "--kind", kind, "--dir", str(tmp_path)).returncode == 0
        folders.append(tmp_path / name)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(f) for f in folders)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *(str(f / "tests") for f in folders)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "18 passed" in result.stdout


def test_the_templates_ship_as_package_data() -> None:
    """Every template matches aos-core's package-data globs, so a regular (non-editable) install has it."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["aos_core"]
    package = ROOT / "aos_core"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    templates = set((package / "cli" / "templates").rglob("*.tmpl"))
    assert templates and templates <= shipped, sorted(str(t.relative_to(package)) for t in templates - shipped)

