"""The plugin API beyond registration: a hook's `config`, the commands hook, and a plugin that
raises what is not an Exception. Loaded in-process through the real loader."""

from __future__ import annotations

from typing import Any

import click
import pytest

from aos_core import Runtime, hookimpl
from aos_core.plugins import CORE_COMMANDS, PluginSource, load_plugins
from aos_core.plugins.explain import one_line, shown_value
from aos_core.testing import check_plugin, fake_skill


def source(name: str, plugin: Any) -> PluginSource:
    return PluginSource(name=name, module=f"{name}.plugin", load=lambda: plugin, distribution=f"dist-{name}")


def reports(*sources: PluginSource, **options: Any) -> dict[str, Any]:
    return {r.name: r for r in load_plugins(sources, **options).reports}


class Configured:
    seen: list[Any]

    def __init__(self) -> None:
        self.seen = []

    @hookimpl
    def aos_register_skills(self, register: Any, config: Any) -> None:
        self.seen.append(config)
        for name in config.get("skills", []):
            register(fake_skill(name))


def test_each_plugin_gets_its_own_config_table() -> None:
    first, second = Configured(), Configured()
    registry = load_plugins(
        [source("first", first), source("second", second)],
        plugin_config={"first": {"skills": ["one", "two"]}, "other": {"skills": ["x"]}},
    )
    assert sorted(registry.skills) == ["one", "two"]
    assert dict(second.seen[0]) == {}


def test_the_config_a_hook_gets_is_read_only_and_a_copy() -> None:
    table = {"skills": ["one"], "nested": {"a": 1}}
    plugin = Configured()
    load_plugins([source("p", plugin)], plugin_config={"p": table})
    with pytest.raises(TypeError):
        plugin.seen[0]["skills"] = []
    plugin.seen[0]["nested"]["a"] = 2
    assert table["nested"] == {"a": 1}


def test_a_hook_without_config_still_loads() -> None:
    class Plain:
        @hookimpl
        def aos_register_skills(self, register: Any) -> None:
            register(fake_skill("plain"))

    assert check_plugin(Plain(), config={"ignored": True}).skills == ("plain",)


def test_a_runtime_gives_each_plugin_its_table_of_the_runtime_config() -> None:
    plugin = Configured()
    with Runtime(plugins=[plugin], entry_points=False, config={"plugins": {"Configured-0": {"skills": ["s"]}}}) as rt:
        assert "s" in rt.skills


def commands_plugin(*names: str) -> Any:
    class Commands:
        @hookimpl
        def aos_register_commands(self, cli: click.Group) -> None:
            for name in names:
                cli.add_command(click.Command(name, help=f"Do {name}.", callback=lambda: None))

    return Commands()


def test_commands_are_recorded_with_their_help() -> None:
    registry = load_plugins([source("srv", commands_plugin("serve", "worker"))])
    assert registry.reports[0].commands == ("serve", "worker")
    assert registry.commands["serve"].help == "Do serve."
    assert registry.commands["serve"].plugin == "srv"


def test_two_plugins_adding_one_command_are_both_refused() -> None:
    found = reports(source("a", commands_plugin("serve")), source("b", commands_plugin("serve")))
    assert found["a"].status == found["b"].status == "failed"
    assert found["a"].reason.startswith("command 'serve' is also registered by plugin 'b' (dist-b")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("skills", "command 'skills' is a core aos command; a plugin may not replace it"),
        ("Serve!", "command name 'Serve!' is not usable"),
    ],
)
def test_a_command_name_the_core_uses_or_that_is_unusable_is_refused(name: str, reason: str) -> None:
    report = reports(source("p", commands_plugin(name)))["p"]
    assert report.status == "failed"
    assert report.reason.startswith(reason)


def test_something_that_is_not_a_click_command_is_refused() -> None:
    class NotCommand:
        @hookimpl
        def aos_register_commands(self, cli: click.Group) -> None:
            cli.commands["serve"] = "serve"  # type: ignore[assignment]

    report = reports(source("p", NotCommand()))["p"]
    assert report.reason == "command 'serve' is a str, not a click.Command; add it with @cli.command()"


def test_core_commands_known_to_the_loader_are_the_clis() -> None:
    from aos_core.cli.app import COMMANDS

    assert set(COMMANDS) == CORE_COMMANDS


def test_ctrl_c_in_a_plugin_is_not_swallowed() -> None:
    class Interrupted:
        @hookimpl
        def aos_register_skills(self, register: Any) -> None:
            raise KeyboardInterrupt

    class GroupedInterrupt:
        @hookimpl
        def aos_register_skills(self, register: Any) -> None:
            raise BaseExceptionGroup("inner", [KeyboardInterrupt()])

    with pytest.raises(KeyboardInterrupt):
        load_plugins([source("p", Interrupted())])
    with pytest.raises(BaseExceptionGroup):
        load_plugins([source("p", GroupedInterrupt())])


def test_an_exception_escaping_the_loaders_own_checks_fails_only_that_plugin() -> None:
    """A plugin object whose attributes raise while being inspected: failed, the next one loads."""

    class Hostile:
        def __dir__(self) -> list[str]:
            raise SystemExit(9)

    found = reports(source("hostile", Hostile()), source("ok", commands_plugin("serve")))
    assert found["hostile"].status == "failed"
    assert found["hostile"].reason == "failed while loading: called sys.exit(9)"
    assert found["ok"].status == "loaded"


def test_a_long_message_is_cut_at_a_word() -> None:
    text = "word " * 100
    cut = one_line(text, 50)
    assert len(cut) <= 50 and cut.endswith("word…")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("short", "'short'"),
        ("sk-ant-" + "a1b2c3d4" * 10, "a 87-character string (not shown)"),
        ("a sentence " * 10, "'a sentence a sentence a sentence a sente'… (110 characters)"),
        (list(range(100)), "a list of 100 item(s)"),
        (-1, "-1"),
    ],
)
def test_a_value_is_shown_short_and_never_as_a_secret(value: Any, shown: str) -> None:
    assert shown_value(value) == shown


def test_a_contribution_that_raises_while_checked_fails_only_its_plugin() -> None:
    """A skill whose `metadata` property raises: that plugin fails and is unregistered, the next loads."""

    class Exploding:
        @property
        def metadata(self) -> Any:
            raise GeneratorExit("no metadata today")

    class Plugin:
        @hookimpl
        def aos_register_skills(self, register: Any) -> None:
            register(Exploding())

    registry = load_plugins([source("boom", Plugin()), source("ok", commands_plugin("serve"))])
    found = {r.name: r for r in registry.reports}
    assert found["boom"].reason == "failed while loading: GeneratorExit: no metadata today"
    assert found["ok"].status == "loaded"
    assert registry.manager is not None and registry.manager.get_plugin("boom") is None


def test_a_second_entry_point_of_the_same_name_does_not_unload_the_first() -> None:
    registry = load_plugins([source("same", commands_plugin("serve")), source("same", commands_plugin("worker"))])
    assert sorted(r.status for r in registry.reports) == ["failed", "loaded"]
    assert registry.commands["serve"].plugin == "same"
    assert registry.manager is not None and registry.manager.get_plugin("same") is not None


def test_a_plugin_refused_while_registering_is_not_left_in_the_manager() -> None:
    class Misspelt:
        @hookimpl
        def aos_register_skills(self, register: Any) -> None:
            pass

        @hookimpl
        def aos_register_skillz(self, register: Any) -> None:
            pass

    registry = load_plugins([source("typo", Misspelt()), source("ok", commands_plugin("serve"))])
    assert {r.name: r.status for r in registry.reports} == {"typo": "failed", "ok": "loaded"}
    assert registry.manager is not None and registry.manager.get_plugin("typo") is None
    assert all(impl.plugin_name != "typo" for impl in registry.manager.hook.aos_register_skills.get_hookimpls())
