"""`aos exec SKILL` loads the plugin that provides SKILL (and those that price, classify or
remember for every skill), not every installed plugin: with 300 installed, one call imported 300."""

from __future__ import annotations

import json
from pathlib import Path

from plugin_dir import plugin_env, write_plugin

SKILL = """
from pydantic import BaseModel
from aos_core import SkillMetadata, hookimpl

{side_effect}

class In(BaseModel):
    x: int

class Echo:
    metadata = SkillMetadata(name="{skill}", version="1.0.0", description="echo", side_effects="none",
                             idempotent=True, deterministic=True, blocking=False)
    Input = In
    Output = In

    def execute(self, params, ctx):
        return {{"x": params.x}}

@hookimpl
def aos_register_skills(register):
    register(Echo())
"""

PRICER = """
from pathlib import Path
from aos_core import Cost, CostEstimate, hookimpl

Path({marker!r}).write_text("imported")

class Pricer:
    name = "pricer"

    def covers(self, skill):
        return skill.name == "alpha_echo"

    def estimate(self, skill, params, ctx=None):
        return CostEstimate.exactly(Cost(money="0.25", calls=1))

    def actual(self, skill, params, output, ctx=None):
        return Cost(money="0.25", calls=1)

@hookimpl
def aos_register_estimators(register):
    register(Pricer())
"""


def _plugins(tmp_path: Path) -> tuple[dict[str, str], Path, Path]:
    where = tmp_path / "site"
    noisy, pricer = tmp_path / "noisy-imported", tmp_path / "pricer-imported"
    write_plugin(where, "alpha_plugin", SKILL.format(skill="alpha_echo", side_effect=""))
    marker = f"from pathlib import Path\nPath({str(noisy)!r}).write_text('imported')"
    write_plugin(where, "noisy_plugin", SKILL.format(skill="noisy_echo", side_effect=marker))
    write_plugin(where, "pricer_plugin", PRICER.format(marker=str(pricer)))
    env = {**plugin_env(where), "AOS_NO_CACHE": ""}  # the discovery cache on, as for a user
    return env, noisy, pricer


def test_exec_imports_only_the_providing_plugin_and_those_for_every_call(aos_cli, tmp_path: Path) -> None:
    env, noisy, pricer = _plugins(tmp_path)
    listed = aos_cli("skills", "--json", env=env)  # discovery fills the cache (imports every plugin)
    assert listed.returncode == 0, listed.stderr
    assert noisy.exists() and pricer.exists()
    noisy.unlink()
    pricer.unlink()

    done = aos_cli("exec", "alpha_echo", "--params", '{"x": 3}', "--json", env=env)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert outcome["output"] == {"x": 3}
    assert outcome["cost"]["money"] == "0.25"  # priced by the estimator of another plugin: it was loaded
    assert pricer.exists() and not noisy.exists()

    other = aos_cli("exec", "noisy_echo", "--params", '{"x": 1}', "--json", env=env)
    assert other.returncode == 0, other.stderr
    assert noisy.exists()


def test_exec_of_an_unknown_skill_still_suggests_from_every_plugin(aos_cli, tmp_path: Path) -> None:
    env, _, _ = _plugins(tmp_path)
    assert aos_cli("skills", "--json", env=env).returncode == 0
    typo = aos_cli("exec", "noisy_ecko", "--params", "{}", "--json", env=env)
    assert typo.returncode == 7  # PERMANENT
    assert "did you mean noisy_echo" in json.loads(typo.stdout)["error"]["message"]


def test_a_skill_moved_to_another_plugin_edited_in_place_is_still_found(aos_cli, tmp_path: Path) -> None:
    """The report `aos exec` trusts is checked by the cheap stamp, which an edit in place does not
    change: when the plugin it names no longer has the skill, every plugin is loaded."""
    env, _, _ = _plugins(tmp_path)
    assert aos_cli("skills", "--json", env=env).returncode == 0
    where = tmp_path / "site"
    (where / "alpha_plugin.py").write_text(SKILL.format(skill="alpha_renamed", side_effect=""), "utf-8")
    (where / "noisy_plugin.py").write_text(SKILL.format(skill="alpha_echo", side_effect=""), "utf-8")
    done = aos_cli("exec", "alpha_echo", "--params", '{"x": 5}', "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["output"] == {"x": 5}


def test_named_distributions_are_read_without_scanning_every_one(monkeypatch, tmp_path: Path) -> None:
    import importlib.metadata

    from aos_core.plugins.discovery import entry_point_sources

    def no_scan(**_: object) -> None:
        raise AssertionError("every installed distribution was scanned")

    monkeypatch.setattr(importlib.metadata, "entry_points", no_scan)
    sources = entry_point_sources(only={"json": "aos-skill-json"})
    assert {s.name for s in sources if s.distribution != "aos-core"} == {"json"}
    monkeypatch.undo()
    # A distribution that is not where the report says: the scan finds the entry point anyway.
    moved = entry_point_sources(only={"json": "no-such-distribution"})
    assert {s.name for s in moved if s.distribution != "aos-core"} == {"json"}
