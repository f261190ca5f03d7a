"""Generated plugins really installed (`aos install -e`) into the throwaway venv.

- `aos plugin new` -> `aos install -e` -> its own tests pass in the venv -> `aos skills` shows it.
- A generated plugin damaged after install (a wrong hook argument, invalid metadata) is caught
  by the test-kit with exactly the reason `aos plugins --json` gives for the installed plugin.
- `aos install` reports a distribution with no `aos` entry point as not a plugin; `aos uninstall`
  reports what went away.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.install

NOT_A_PLUGIN = """\
[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "aos-not-a-plugin"
version = "0.3.0"

[tool.setuptools]
py-modules = ["aos_not_a_plugin"]
"""
CHECK = """\
import json
from aos_core.testing import ContractViolation, check_plugin, check_skill_contract
said = {}
for name, check in (("check_plugin", check_plugin), ("check_skill_contract", check_skill_contract)):
    try:
        check("aos_skill_storm.plugin")
    except ContractViolation as exc:
        said[name] = str(exc)
print(json.dumps(said))
"""
OFFLINE = ("--no-deps", "--no-build-isolation")


def new_plugin(venv: Any, name: str, parent: Path) -> Path:
    created = venv.aos("plugin", "new", name, "--dir", str(parent), "--json")
    assert created.returncode == 0, created.stderr
    return Path(json.loads(created.stdout)["path"])


def installed_in(venv: Any, project: str) -> bool:
    return any(venv.path.glob(f"lib/python3*/site-packages/{project}-*.dist-info"))


def plugins_of(venv: Any) -> dict[str, dict[str, Any]]:
    listed = venv.aos("plugins", "--json")
    assert listed.returncode == 0, listed.stderr
    return {p["name"]: p for p in json.loads(listed.stdout)["plugins"]}


def kit_says(venv: Any) -> dict[str, str]:
    """What check_plugin and check_skill_contract say about aos-skill-storm, run in the venv."""
    done = venv.run("-c", CHECK)
    assert done.returncode == 0, done.stderr
    said: dict[str, str] = json.loads(done.stdout)
    return said


@pytest.fixture(scope="module")
def weather(throwaway_venv: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    """aos-skill-weather, generated and installed editable with `aos install`."""
    path = new_plugin(throwaway_venv, "aos-skill-weather", tmp_path_factory.mktemp("new"))
    installed = throwaway_venv.aos("install", *OFFLINE, "-e", str(path), "--json")
    try:
        yield path, installed
    finally:
        if installed_in(throwaway_venv, "aos_skill_weather"):  # normally removed by the last test below
            throwaway_venv.pip_uninstall("aos-skill-weather")


def test_aos_install_reports_the_new_plugin_and_its_skill(weather: tuple[Path, Any]) -> None:
    """`aos install --json`: the distribution, the plugin and its skills; pip's chatter on stderr."""
    _, installed = weather
    assert installed.returncode == 0, installed.stderr
    report = json.loads(installed.stdout)
    assert report["ok"] and report["not_plugins"] == []
    assert report["installer"] == "pip"  # a pip venv: its own installer
    assert [d["name"] for d in report["distributions"]] == ["aos-skill-weather"]
    (plugin,) = report["plugins"]
    assert (plugin["name"], plugin["status"], plugin["skills"]) == ("weather", "loaded", ["weather"])


def test_the_generated_tests_pass_in_the_venv(weather: tuple[Path, Any], throwaway_venv: Any) -> None:
    """The distribution's own tests, run by the venv's pytest against the installed plugin."""
    path, _ = weather
    done = throwaway_venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(path / "tests"), cwd=path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "5 passed" in done.stdout


def test_aos_skills_shows_it_and_runs_it(weather: tuple[Path, Any], throwaway_venv: Any) -> None:
    skills = json.loads(throwaway_venv.aos("skills", "--json").stdout)["skills"]
    assert "weather" in {s["name"] for s in skills}
    ran = throwaway_venv.aos("exec", "weather", "--params", '{"name": "Ada"}', "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["output"] == {"message": "Hello, Ada!"}


def test_aos_uninstall_says_which_plugin_went_away(weather: tuple[Path, Any], throwaway_venv: Any) -> None:
    """Text output, as docs/plugins.md shows it; the skill is gone from `aos skills`."""
    removed = throwaway_venv.aos("uninstall", "aos-skill-weather")
    assert removed.returncode == 0, removed.stderr
    assert removed.stdout == "Removed aos-skill-weather 0.1.0: plugin weather (skills: weather)\n"
    skills = json.loads(throwaway_venv.aos("skills", "--json").stdout)["skills"]
    assert "weather" not in {s["name"] for s in skills}


@pytest.fixture(scope="module")
def damaged(throwaway_venv: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    """aos-skill-storm installed editable together with a distribution that is not a plugin."""
    parent = tmp_path_factory.mktemp("damaged")
    path = new_plugin(throwaway_venv, "aos-skill-storm", parent)
    other = parent / "not-a-plugin"
    other.mkdir()
    (other / "pyproject.toml").write_text(NOT_A_PLUGIN)
    (other / "aos_not_a_plugin.py").write_text("VALUE = 1\n")
    installed = throwaway_venv.aos("install", *OFFLINE, "-e", str(path), str(other), "--json")
    try:
        yield path, installed
    finally:
        left = [n for n in ("aos_skill_storm", "aos_not_a_plugin") if installed_in(throwaway_venv, n)]
        if left:  # test_aos_uninstall_reports_the_plugins_removed normally removed them
            throwaway_venv.pip_uninstall(*left)


def test_a_distribution_without_an_aos_entry_point_is_reported_as_not_a_plugin(damaged: tuple[Path, Any]) -> None:
    """It stays installed; the exit status is 3 and stderr says why; the real plugin is listed."""
    _, installed = damaged
    assert installed.returncode == 3, installed.stderr
    assert "aos-not-a-plugin is not an AOS plugin (no entry point in the group 'aos')" in installed.stderr
    report = json.loads(installed.stdout)
    assert report["not_plugins"] == ["aos-not-a-plugin"] and not report["ok"]
    assert [p["name"] for p in report["plugins"]] == ["storm"]


@pytest.mark.parametrize(
    ("how", "old", "new", "expected", "own_tests"),
    [
        (
            "a wrong hook argument",
            "def aos_register_skills(register: Register) -> None:\n    register(",
            "def aos_register_skills(registry: Register) -> None:\n    registry(",
            "hook aos_register_skills declares argument(s) 'registry' that the spec does not have; "
            "it may take any of the arguments of aos_register_skills(register, config)",
            True,
        ),
        (
            "an invalid skill name",
            'name="storm",',
            'name="Storm Warning",',
            "cannot import aos_skill_storm.plugin: invalid SkillMetadata: name: String should match pattern "
            "'^[a-z][a-z0-9_]{0,63}$' (got 'Storm Warning'); fix it in ",
            False,
        ),
    ],
)
def test_a_damaged_plugin_is_caught_by_the_test_kit_with_the_loaders_message(
    damaged: tuple[Path, Any], throwaway_venv: Any, how: str, old: str, new: str, expected: str, own_tests: bool
) -> None:
    """check_plugin, check_skill_contract and the plugin's own tests all say what `aos plugins` says."""
    path, _ = damaged
    module = path / "aos_skill_storm" / "plugin.py"
    original = module.read_text()
    assert old in original
    module.write_text(original.replace(old, new, 1))  # editable install: the damage is live
    try:
        reason = plugins_of(throwaway_venv)["storm"]["reason"]
        assert reason.startswith(expected)
        assert kit_says(throwaway_venv) == {"check_plugin": reason, "check_skill_contract": reason}
        if own_tests:  # the plugin's generated tests fail, saying the same
            own = throwaway_venv.run("-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", "tests", cwd=path)
            assert own.returncode != 0
            assert reason in own.stdout
    finally:
        module.write_text(original)
    assert plugins_of(throwaway_venv)["storm"]["status"] == "loaded"


def test_installing_again_a_distribution_that_no_longer_loads_fails(
    damaged: tuple[Path, Any], throwaway_venv: Any
) -> None:
    """pip changes nothing (same name and version), yet the named distribution is checked: exit 3, not ok."""
    path, _ = damaged
    module = path / "aos_skill_storm" / "plugin.py"
    original = module.read_text()
    module.write_text(original.replace("(register: Register) -> None:", "(registry: Register) -> None:", 1))
    try:
        again = throwaway_venv.aos("install", *OFFLINE, "-e", str(path), "--json")
        text = throwaway_venv.aos("install", *OFFLINE, "-e", str(path))
    finally:
        module.write_text(original)
    assert again.returncode == 3, again.stderr
    report = json.loads(again.stdout)
    assert report["ok"] is False
    assert [(p["name"], p["status"]) for p in report["plugins"]] == [("storm", "failed")]
    assert "plugin storm failed to load: hook aos_register_skills declares argument(s) 'registry'" in again.stderr
    assert text.returncode == 3
    assert text.stdout.startswith("Unchanged aos-skill-storm 0.1.0: plugin storm FAILED to load")
    assert "No distribution was added or changed" not in text.stdout


def test_aos_uninstall_reports_the_plugins_removed(damaged: tuple[Path, Any], throwaway_venv: Any) -> None:
    """Runs last in this module: removes both distributions and says which was a plugin."""
    removed = throwaway_venv.aos("uninstall", "aos-skill-storm", "aos-not-a-plugin", "aos-never-installed", "--json")
    assert removed.returncode == 0, removed.stderr
    report = json.loads(removed.stdout)
    assert sorted(d["name"] for d in report["distributions"]) == ["aos-not-a-plugin", "aos-skill-storm"]
    assert [(p["name"], p["skills"]) for p in report["plugins"]] == [("storm", ["storm"])]
    assert report["not_installed"] == ["aos-never-installed"]
    assert "storm" not in plugins_of(throwaway_venv)


def test_a_failing_pip_exits_1_and_changes_nothing(throwaway_venv: Any, tmp_path: Path) -> None:
    """pip's own failure: exit 1, its output on stderr, clean JSON on stdout."""
    failed = throwaway_venv.aos("install", *OFFLINE, str(tmp_path / "no-such-project"), "--json")
    assert failed.returncode == 1
    report = json.loads(failed.stdout)
    assert (report["ok"], report["distributions"]) == (False, [])
    assert report["pip_exit_code"] != 0
    assert "pip install failed" in failed.stderr


def test_aos_uninstall_refuses_to_remove_aos_itself(throwaway_venv: Any) -> None:
    """A usage error before pip runs: the environment is untouched."""
    refused = throwaway_venv.aos("uninstall", "aos_core")
    assert refused.returncode == 2
    assert "not aos-core itself" in refused.stderr
