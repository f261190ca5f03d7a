"""docs/plugins.md cannot rot: its example plugin installs and runs, its messages are the loader's.

The `python run` blocks are run by tests/guards/test_docs_examples.py; the `file=` blocks (the
example distribution) and the `console steps` blocks are run here, literally.
"""

from __future__ import annotations

import inspect
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aos_core import hookspecs
from aos_core.plugins import PluginSource, load_plugins
from aos_core.testing import ContractViolation, check_plugin

PLUGIN = "aos_skill_temperature.plugin"


def test_every_code_block_is_run_written_or_a_shown_command(guide: Any) -> None:
    """Python and TOML blocks are either run (`run`) or files of the example (`file=`)."""
    for block in guide.blocks():
        if block.lang in {"python", "toml"}:
            assert "run" in block.options or block.option("file"), f"docs/plugins.md:{block.line} is never run"


def test_the_example_is_a_whole_distribution(guide: Any) -> None:
    """The guide's files make a distribution: pyproject, package, plugin module, tests."""
    assert set(guide.example_files()) == {
        "aos-skill-temperature/pyproject.toml",
        "aos-skill-temperature/aos_skill_temperature/__init__.py",
        "aos-skill-temperature/aos_skill_temperature/skill.py",
        "aos-skill-temperature/aos_skill_temperature/plugin.py",
        "aos-skill-temperature/tests/test_temperature.py",
    }


def test_every_hook_is_documented_with_its_signature_and_the_reference_is_linked(guide: Any) -> None:
    """Each hook of aos_core.hookspecs appears as `name(args)`; hooks.md is linked."""
    text = guide.text
    assert "(hooks.md)" in text
    for name, function in inspect.getmembers(hookspecs, inspect.isfunction):
        if name.startswith("aos_register_"):
            args = ", ".join(inspect.signature(function).parameters)
            assert f"`{name}({args})`" in text, name


# How section 8 of the guide breaks its own example, one edit per row of its table.
DAMAGE: dict[str, tuple[str, str, str]] = {
    "import": ("plugin.py", "annotations\n", "annotations\n\nimport pint\n"),
    "no hookimpl": ("plugin.py", "@hookimpl\n", ""),
    "misspelt hook": ("plugin.py", "def aos_register_skills(", "def aos_register_skill("),
    "hook argument": (
        "plugin.py",
        "(register: Register) -> None:\n    register(",
        "(registry: Register) -> None:\n    registry(",
    ),
    "hook raises": (
        "plugin.py",
        "    register(ConvertTemperature())",
        '    import os\n\n    os.environ["TEMPERATURE_API_KEY"]\n    register(ConvertTemperature())',
    ),
    "a class": ("plugin.py", "register(ConvertTemperature())", "register(ConvertTemperature)"),
    "no metadata": ("skill.py", "    metadata = SkillMetadata(", "    meta = SkillMetadata("),
    "metadata dict": (
        "skill.py",
        'metadata = SkillMetadata(\n        name="convert_temperature",',
        'metadata = dict(\n        name="Convert Temperature",',
    ),
    "misspelt metadata field": ("skill.py", "        side_effects=SideEffect.NONE,", '        side_effect="none",'),
    "no Input": ("skill.py", "    Input = ConvertInput\n", ""),
    "execute without ctx": (
        "skill.py",
        "def execute(self, params: ConvertInput, ctx: SkillContext)",
        "def execute(self, params: ConvertInput)",
    ),
    "registered twice": (
        "plugin.py",
        "    register(ConvertTemperature())",
        "    register(ConvertTemperature())\n    register(ConvertTemperature())",
    ),
}


@pytest.fixture
def fresh_modules(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The example package is imported anew from whatever folder the test puts on sys.path."""

    def forget() -> None:
        for name in [m for m in sys.modules if m.split(".")[0] == "aos_skill_temperature"]:
            del sys.modules[name]

    monkeypatch.delenv("TEMPERATURE_API_KEY", raising=False)
    forget()
    yield
    forget()


@pytest.mark.parametrize("how", sorted(DAMAGE))
def test_the_load_time_messages_in_the_guide_are_the_loaders_and_the_test_kits(
    how: str, guide: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_modules: None
) -> None:
    """Each row of the guide's table is, word for word, what the loader and `check_plugin` say."""
    from importlib.metadata import EntryPoint

    dist = guide.write_example(tmp_path)
    filename, old, new = DAMAGE[how]
    path = dist / "aos_skill_temperature" / filename
    source = path.read_text("utf-8")
    assert old in source, f"the guide's {filename} changed; update DAMAGE[{how!r}]"
    path.write_text(source.replace(old, new, 1), "utf-8")
    monkeypatch.syspath_prepend(str(dist))
    monkeypatch.chdir(dist)  # the guide shows file names as seen from the distribution's folder
    entry = EntryPoint(name="temperature", value=PLUGIN, group="aos")
    report = load_plugins([PluginSource("temperature", PLUGIN, entry.load)]).reports[0]
    assert report.status == "failed"
    assert f"`{report.reason}`" in guide.text, report.reason
    for name in [m for m in sys.modules if m.split(".")[0] == "aos_skill_temperature"]:
        del sys.modules[name]
    with pytest.raises(ContractViolation) as caught:
        check_plugin(PLUGIN)
    assert str(caught.value) == report.reason


@pytest.mark.install
def test_the_guides_example_installs_and_runs_through_the_cli(guide: Any, throwaway_venv: Any, tmp_path: Path) -> None:
    """Following the guide literally: write its files, run its commands in a throwaway venv."""
    assert guide.write_example(tmp_path).is_dir()
    results = []
    try:
        for step in guide.steps():
            program, *args = step.argv
            if step.argv[:2] == ("aos", "install"):  # offline and quick: aos-core is already there
                offline = ("--no-deps", "--no-build-isolation")
                done = throwaway_venv.run("-m", "aos_core", "install", *offline, *args[1:], cwd=tmp_path)
            elif program == "aos":
                done = throwaway_venv.run("-m", "aos_core", *args, cwd=tmp_path)
            else:
                done = throwaway_venv.run("-m", program, *args, "-p", "no:cacheprovider", cwd=tmp_path)
            assert done.returncode == step.exit, f"$ {' '.join(step.argv)}\n{done.stdout}\n{done.stderr}"
            results.append((step.argv, done))
        outputs: dict[tuple[str, ...], str] = {}
        for argv, done in results:
            outputs.setdefault(tuple(argv[:2]), done.stdout)
        installed = "Installed aos-skill-temperature 0.1.0: plugin temperature (skills: convert_temperature)"
        assert installed in outputs[("aos", "install")] and f"`{installed}`" in guide.text.replace("\n", " ")
        assert "convert_temperature" in outputs[("aos", "skills")]
        assert "temperature" in outputs[("aos", "plugins")]
        assert '"value": 212.0' in outputs[("aos", "exec")]
        failed = json.loads(results[-1][1].stdout)
        assert (failed["ok"], failed["error"]["code"]) == (False, "INVALID_INPUT")
        listed = json.loads(throwaway_venv.aos("skills", "--json").stdout)["skills"]
        assert "convert_temperature" in {s["name"] for s in listed}
    finally:
        throwaway_venv.pip_uninstall("aos-skill-temperature")


def test_the_clash_message_in_the_guide_is_the_loaders(
    guide: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_modules: None
) -> None:
    """Two installed plugins registering one skill name: both refused, each naming the other."""
    from aos_core.testing import FakePlugin

    monkeypatch.syspath_prepend(str(guide.write_example(tmp_path)))
    from aos_skill_temperature.skill import ConvertTemperature

    def source(name: str, dist: str) -> PluginSource:
        plugin = FakePlugin(skills=[ConvertTemperature()], name=name)
        return PluginSource(name, PLUGIN, lambda: plugin, distribution=dist, version="0.1.0")

    registry = load_plugins([source("temperature", "aos-skill-temperature"), source("other", "aos-skill-other")])
    reasons = {r.name: r.reason or "" for r in registry.reports}
    assert reasons["temperature"] in " ".join(guide.text.split())
    assert "'temperature' (aos-skill-temperature 0.1.0)" in reasons["other"]


@pytest.mark.parametrize("name", ["Classification", "Cost", "CostEstimate", "EstimateContext", "CostModel"])
def test_every_field_of_the_values_a_plugin_builds_is_documented(guide: Any, name: str) -> None:
    """A stranger should not have to inspect the objects: each field is named in the guide's row for it."""
    import dataclasses

    import aos_core

    value = getattr(aos_core, name)
    fields = [f.name for f in dataclasses.fields(value)] if dataclasses.is_dataclass(value) else list(value.model_fields)
    rows = [line for line in guide.text.splitlines() if line.startswith(f"| `{name}`")]
    described = "\n".join(rows) or guide.text.split(f"a `{name}`, a frozen value", 1)[-1].split("\n\n", 2)[1]
    missing = [field for field in fields if f"`{field}`" not in described]
    assert not missing, f"docs/plugins.md does not describe {name}.{missing}"


@pytest.mark.parametrize(
    "topic",
    [
        "`ctx.deadline_ms` is a **duration, not a point in time**",
        'details={"parameter": "url"}',
        "Nothing in the runtime enforces it today",
    ],
)
def test_the_guide_says_what_strangers_had_to_guess(guide: Any, topic: str) -> None:
    assert topic in guide.text
