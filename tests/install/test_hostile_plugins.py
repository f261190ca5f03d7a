"""Plugins that misbehave while loading, really installed: each is reported failed with a reason a
plugin author can act on, and nothing they do reaches stdout or ends the `aos` process."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.install

EXITS = {
    "exits-import": "aos_broken_plugins.exits_on_import called sys.exit(3) while importing; "
    "a plugin must never end the process",
    "exits-hook": "hook aos_register_skills called sys.exit(4); a plugin must never end the process",
    "generator-exit": "cannot import aos_broken_plugins.generator_exit: GeneratorExit: closed while importing",
    "exception-group": "hook aos_register_skills raised BaseExceptionGroup: two things went wrong (2 sub-exceptions)",
}
NO_CACHE = {"AOS_NO_CACHE": "1"}


@pytest.fixture(scope="module")
def reports(broken_dist: Any) -> dict[str, dict[str, Any]]:
    """`aos plugins --json` without the cache, by plugin name."""
    result = broken_dist.aos("plugins", "--json", env=NO_CACHE)
    assert result.returncode == 0, result.stderr
    return {p["name"]: p for p in json.loads(result.stdout)["plugins"]}


@pytest.mark.parametrize("plugin", sorted(EXITS))
def test_a_plugin_that_exits_or_raises_a_base_exception_is_reported_failed(
    reports: dict[str, dict[str, Any]], plugin: str
) -> None:
    assert reports[plugin]["status"] == "failed"
    assert reports[plugin]["reason"].startswith(EXITS[plugin]), reports[plugin]["reason"]


@pytest.mark.parametrize("args", [["skills", "--json"], ["plugins", "--json"]], ids=" ".join)
def test_every_command_keeps_working_beside_a_plugin_that_exits(broken_dist: Any, args: list[str]) -> None:
    """Uncached discovery imports every plugin: exit 0 and complete JSON."""
    result = broken_dist.aos(*args, env=NO_CACHE)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)


def test_a_skill_runs_beside_a_plugin_that_exits(broken_dist: Any) -> None:
    ran = broken_dist.aos("exec", "json_transform", "--params", '{"expression": "a", "data": {"a": 2}}', "--json")
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["output"] == {"result": 2}


def test_what_a_plugin_prints_while_loading_goes_to_stderr(broken_dist: Any) -> None:
    """`aos skills --json` without the cache is clean JSON; the plugin's text is on stderr."""
    result = broken_dist.aos("skills", "--json", env=NO_CACHE)
    assert result.returncode == 0, result.stderr
    assert "chatty_skill" in {s["name"] for s in json.loads(result.stdout)["skills"]}
    assert "chatty plugin: hello from import time" in result.stderr
    assert "chatty plugin: registering" in result.stderr
    assert "chatty plugin" not in result.stdout


def test_a_hook_named_function_without_hookimpl_fails_the_plugin_and_strict(
    reports: dict[str, dict[str, Any]], broken_dist: Any
) -> None:
    report = reports["unmarked"]
    assert report["status"] == "failed"
    assert report["reason"] == (
        "aos_register_estimators is not marked @hookimpl, so AOS would never call it; "
        "decorate it with @aos_core.hookimpl"
    )
    strict = broken_dist.aos("plugins", "--strict")
    assert strict.returncode == 3
    assert "unmarked" in strict.stderr


def test_invalid_metadata_is_shown_field_by_field_with_the_plugins_file(reports: dict[str, dict[str, Any]]) -> None:
    """`field: problem (got VALUE)`, a did-you-mean, the file and line; no pydantic noise, no secret."""
    reason = reports["bad-fields"]["reason"]
    assert reason.startswith("cannot import aos_broken_plugins.bad_fields: invalid SkillMetadata: ")
    assert "side_effect: unknown field; did you mean side_effects? (got <SideEffect.NONE: 'none'>)" in reason
    assert "timeout_ms: Input should be greater than 0 (got 0)" in reason
    assert "side_effects: Field required" not in reason  # missing because misspelt: said once, by its did-you-mean
    assert reason.endswith("aos_broken_plugins/bad_fields.py:8"), reason
    assert "9f8e7d6c5b4a" not in reason
    assert "install what it needs" not in reason
    assert "errors.pydantic.dev" not in reason and "type=" not in reason
