"""Discovery end to end: real `pip install`s into a throwaway venv, then `aos` in a subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aos_core import SkillMetadata

pytestmark = pytest.mark.install
ROOT = Path(__file__).resolve().parents[2]
FIRST_PARTY = {"http_call", "json_transform", "llm_invoke"}


def skills_of(venv: Any) -> dict[str, dict[str, Any]]:
    result = venv.aos("skills", "--json")
    assert result.returncode == 0, result.stderr
    return {s["name"]: s for s in json.loads(result.stdout)["skills"]}


@pytest.fixture(scope="module")
def example_installed(throwaway_venv: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    before = skills_of(throwaway_venv)
    installed = throwaway_venv.pip_install(ROOT / "plugins" / "files")
    assert installed.returncode == 0, installed.stderr
    return before, skills_of(throwaway_venv)


@pytest.fixture(scope="module")
def broken_installed(broken_dist: Any, example_installed: Any) -> dict[str, dict[str, Any]]:
    result = broken_dist.aos("plugins", "--json")
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)["plugins"]}


def test_the_example_plugin_is_found_only_once_installed(example_installed: Any) -> None:
    before, after = example_installed
    assert "read_file" not in before
    assert {"read_file", *FIRST_PARTY} <= set(after)


def test_skills_json_gives_complete_metadata_for_every_skill(example_installed: Any) -> None:
    _, after = example_installed
    for name in {"read_file", *FIRST_PARTY}:
        metadata = SkillMetadata.model_validate(after[name])
        assert metadata.input_schema and metadata.input_schema.get("properties")
        assert metadata.output_schema and metadata.output_schema.get("properties")
        assert metadata.failure_codes, name
        assert metadata.description and metadata.timeout_ms > 0


def test_the_installed_example_skill_runs_through_the_cli(
    example_installed: Any, throwaway_venv: Any, tmp_path: Path
) -> None:
    (tmp_path / "notes.txt").write_text("hello from a plugin\n")
    env = {"AOS_FILES_ROOT": str(tmp_path)}
    ok = throwaway_venv.aos("exec", "read_file", "--params", '{"path": "notes.txt"}', "--json", env=env)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["output"]["text"] == "hello from a plugin\n"
    escape = throwaway_venv.aos("exec", "read_file", "--params", '{"path": "../../etc/passwd"}', "--json", env=env)
    assert escape.returncode == 4
    assert json.loads(escape.stdout)["error"]["code"] == "POLICY_VIOLATION"


EXPECTED = {
    "broken-import": "cannot import aos_broken_plugins.import_error: ModuleNotFoundError: No module named "
    "'aos_dependency_that_is_not_installed'",
    "broken-hookarg": "hook aos_register_skills declares argument(s) 'options' that the spec does not have",
    "broken-raises": "hook aos_register_skills raised KeyError: 'WEATHER_API_URL'",
    "broken-metadata": "has invalid metadata: name: String should match pattern",
    "broken-schema": "skill 'odd_schema_skill': input_schema is not valid JSON Schema: /properties/text: 'type' 'txt'",
    "broken-noexec": "skill 'no_execute_skill': execute is missing or not callable",
    "twin-a": "skill 'twin_skill' is also registered by plugin 'twin-b' (aos-broken-plugins 0.0.1)",
    "twin-b": "skill 'twin_skill' is also registered by plugin 'twin-a' (aos-broken-plugins 0.0.1)",
}


@pytest.mark.parametrize("plugin", sorted(EXPECTED))
def test_each_broken_plugin_is_reported_with_its_reason(broken_installed: Any, plugin: str) -> None:
    report = broken_installed[plugin]
    assert report["status"] == "failed"
    assert report["distribution"] == "aos-broken-plugins" and report["version"] == "0.0.1"
    assert EXPECTED[plugin] in report["reason"]
    assert "\n" not in report["reason"]


def test_every_other_plugin_keeps_working_beside_broken_ones(broken_installed: Any, throwaway_venv: Any) -> None:
    loaded = {name for name, r in broken_installed.items() if r["status"] == "loaded"}
    assert {"http", "json", "llm", "files", "core-classifier", "stub-planner"} <= loaded
    assert {"read_file", *FIRST_PARTY} <= set(skills_of(throwaway_venv))
    ran = throwaway_venv.aos("exec", "json_transform", "--params", '{"expression": "a", "data": {"a": 2}}', "--json")
    assert ran.returncode == 0 and json.loads(ran.stdout)["output"] == {"result": 2}


def test_strict_makes_a_broken_plugin_an_error(broken_installed: Any, throwaway_venv: Any) -> None:
    relaxed = throwaway_venv.aos("plugins")
    strict = throwaway_venv.aos("plugins", "--strict")
    assert relaxed.returncode == 0
    assert strict.returncode == 3
    failed = [name for name, r in broken_installed.items() if r["status"] == "failed"]  # in report order
    assert f"{len(failed)} plugin(s) failed to load: {', '.join(failed)}" in strict.stderr
    assert set(EXPECTED) <= set(failed)
    assert "broken-raises" in strict.stdout and "failed" in strict.stdout
