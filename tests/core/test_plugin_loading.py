"""Plugin loading: each broken plugin is reported with a precise reason; the rest keep working."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import BaseModel

from aos_core import Runtime, SideEffect, SkillMetadata, hookimpl
from aos_core.plugins import PluginSource, load_plugins


class In(BaseModel):
    x: int = 0


class Out(BaseModel):
    y: int


def metadata(name: str = "good_skill", **extra: Any) -> SkillMetadata:
    return SkillMetadata(
        name=name,
        version="1.0.0",
        description="d",
        side_effects=SideEffect.NONE,
        idempotent=True,
        deterministic=True,
        **extra,
    )


class GoodSkill:
    metadata = metadata()
    Input = In
    Output = Out

    def execute(self, params: In, ctx: Any) -> Out:
        return Out(y=params.x)


def skill_plugin(*skills: Any) -> Any:
    class Plugin:
        @hookimpl
        def aos_register_skills(self, register: Any) -> None:
            for skill in skills:
                register(skill)

    return Plugin()


def source(name: str, plugin: Any = None, error: Exception | None = None) -> PluginSource:
    def load() -> Any:
        if error is not None:
            raise error
        return plugin

    return PluginSource(name=name, module=f"{name}.plugin", load=load, distribution=f"dist-{name}", version="9.9")


def load(*sources: PluginSource, schemas: bool = True) -> Any:
    """Load as the CLI's discovery does: schemas generated (and so checked) at load."""
    registry = load_plugins([source("good", skill_plugin(GoodSkill())), *sources], schemas=schemas)
    return registry, {r.name: r for r in registry.reports}


def assert_only_good_loaded(registry: Any, reports: Any) -> None:
    assert reports["good"].status == "loaded"
    assert "good_skill" in registry.skills


def test_a_module_that_fails_to_import_is_reported() -> None:
    registry, reports = load(source("broken", error=ModuleNotFoundError("No module named 'requests_oauth'")))
    assert reports["broken"].status == "failed"
    assert reports["broken"].reason.startswith("cannot import broken.plugin: ModuleNotFoundError: No module named")
    assert reports["broken"].distribution == "dist-broken"
    assert_only_good_loaded(registry, reports)


def test_a_hook_argument_the_spec_lacks_is_reported() -> None:
    class Plugin:
        @hookimpl
        def aos_register_skills(self, register: Any, settings: Any) -> None:
            register(GoodSkill())

    registry, reports = load(source("wrongarg", Plugin()))
    reason = reports["wrongarg"].reason
    assert "aos_register_skills declares argument(s) 'settings' that the spec does not have" in reason
    assert "aos_register_skills(register, config)" in reason
    assert_only_good_loaded(registry, reports)


def test_a_misspelt_hook_names_the_right_one() -> None:
    class Plugin:
        @hookimpl
        def aos_register_skill(self, register: Any) -> None:
            pass

    _, reports = load(source("typo", Plugin()))
    assert reports["typo"].reason == "aos_register_skill is not an AOS hook; did you mean aos_register_skills?"


def test_a_hook_that_raises_is_reported() -> None:
    class Plugin:
        @hookimpl
        def aos_register_skills(self, register: Any) -> None:
            raise RuntimeError("config file missing")

    registry, reports = load(source("raises", Plugin()))
    assert reports["raises"].reason.startswith("hook aos_register_skills raised RuntimeError: config file missing")
    assert_only_good_loaded(registry, reports)


def test_invalid_metadata_is_reported_with_the_field() -> None:
    bad = SimpleNamespace(
        metadata={**metadata().model_dump(), "name": "Bad-Name"}, Input=In, Output=Out, execute=GoodSkill.execute
    )
    registry, reports = load(source("badmeta", skill_plugin(bad)))
    reason = reports["badmeta"].reason
    assert "has invalid metadata: name: String should match pattern" in reason
    assert_only_good_loaded(registry, reports)


def test_a_schema_that_is_not_json_schema_is_reported() -> None:
    class WeirdIn(BaseModel):
        x: int

        @classmethod
        def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
            return {"type": "integr"}

    class Weird(GoodSkill):
        metadata = metadata("weird_skill")
        Input = WeirdIn

    registry, reports = load(source("weird", skill_plugin(Weird())))
    assert reports["weird"].reason == (
        "skill 'weird_skill': input_schema is not valid JSON Schema: /: 'type' 'integr' is not a JSON Schema type "
        "(array, boolean, integer, null, number, object, string)"
    )
    assert_only_good_loaded(registry, reports)


def test_a_runtime_generates_schemas_on_first_use_and_reports_a_failure_there() -> None:
    """Without `schemas`, as `Runtime` loads: the plugin loads, a call works, and the schema
    problem shows when the schema is first asked for (the CLI reports it at load, above)."""

    class WeirdIn(BaseModel):
        x: int

        @classmethod
        def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> Any:
            return {"type": "integr"}

    class Weird(GoodSkill):
        metadata = metadata("weird_skill")
        Input = WeirdIn

    registry, reports = load(source("weird", skill_plugin(Weird())), schemas=False)
    assert reports["weird"].status == reports["good"].status == "loaded"
    entry, good = registry.skills["weird_skill"], registry.skills["good_skill"]
    assert entry._metadata is None and good._metadata is None  # nothing generated yet
    assert good.metadata.input_schema == In.model_json_schema()
    assert entry.metadata.input_schema is None and entry.metadata.name == "weird_skill"
    assert entry.schema_error is not None and "input_schema is not valid JSON Schema" in entry.schema_error


def test_two_plugins_with_the_same_skill_are_both_refused_and_both_named() -> None:
    registry, reports = load(source("one", skill_plugin(GoodSkill())))
    assert reports["one"].status == reports["good"].status == "failed"
    assert "also registered by plugin 'good' (dist-good 9.9)" in reports["one"].reason
    assert "also registered by plugin 'one' (dist-one 9.9)" in reports["good"].reason
    assert "good_skill" not in registry.skills


def test_a_skill_without_execute_is_reported() -> None:
    class NoExecute:
        metadata = metadata("lazy_skill")
        Input = In
        Output = Out

    registry, reports = load(source("noexec", skill_plugin(NoExecute())))
    assert reports["noexec"].reason == (
        "skill 'lazy_skill': execute is missing or not callable; define a method (params, ctx)"
    )
    assert_only_good_loaded(registry, reports)


def test_an_execute_with_the_wrong_signature_is_reported() -> None:
    class OneArg(GoodSkill):
        metadata = metadata("one_arg")

        def execute(self, params: Any) -> Any:  # type: ignore[override]
            return None

    _, reports = load(source("onearg", skill_plugin(OneArg())))
    assert reports["onearg"].reason == "skill 'one_arg': execute takes (params); it must accept (params, ctx)"


def test_registering_a_class_instead_of_an_instance_is_reported() -> None:
    _, reports = load(source("cls", skill_plugin(GoodSkill)))
    assert "is a class; register an instance: register(GoodSkill())" in reports["cls"].reason


def test_a_module_with_no_hooks_is_reported() -> None:
    _, reports = load(source("empty", SimpleNamespace()))
    assert "implements no AOS hook" in reports["empty"].reason


def test_a_plugin_switched_off_by_configuration_is_not_loaded() -> None:
    registry = load_plugins([source("good", skill_plugin(GoodSkill()))], disabled=["good"])
    assert registry.reports[0].status == "disabled" and not registry.skills


def test_aos_disable_plugins_switches_off_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AOS_DISABLE_PLUGINS", "stub-planner")
    with Runtime(entry_points=False) as runtime:
        status = {r.name: r.status for r in runtime.plugins}
    assert status["stub-planner"] == "disabled" and status["core-classifier"] == "loaded"


def test_each_runtime_has_its_own_plugin_manager() -> None:
    with Runtime(entry_points=False, plugins=[skill_plugin(GoodSkill())]) as one, Runtime(entry_points=False) as two:
        assert one.registry.manager is not two.registry.manager
        assert "good_skill" in one.skills and "good_skill" not in two.skills


def test_builtin_defaults_load_through_their_entry_points() -> None:
    with Runtime(entry_points=False) as runtime:
        reports = {r.name: r for r in runtime.plugins}
    assert reports["stub-planner"].distribution == "aos-core" and reports["stub-planner"].planners == ("stub",)
    assert reports["core-classifier"].classifiers == ("core",)


def test_schemas_are_generated_from_the_models() -> None:
    registry, _ = load(schemas=False)
    meta = registry.skills["good_skill"].metadata
    assert meta.input_schema == In.model_json_schema()
    assert meta.output_schema == Out.model_json_schema()
