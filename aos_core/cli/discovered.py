"""What plugin discovery found, as JSON data: plugin reports, skill metadata, the estimator that
prices each skill, and the commands plugins add to `aos`.

From the discovery cache when nothing changed (no pydantic, no plugin imported), else from real
discovery, which imports pydantic and every plugin. A plugin command is run by loading only the
plugin that provides it.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from aos_core.cli.discovery_cache import cache_enabled, discovery_key, quick_stamp, read_entry, write_cached
from aos_core.cli.home import aos_home

if TYPE_CHECKING:
    from aos_core.plugins.loader import PluginConfig

__all__ = ["discovered", "load_plugin_command", "plugin_commands", "plugins_for_skill"]


def discovered() -> dict[str, Any]:
    """`{"plugins", "skills", "estimators", "commands"}`; a usage error for a broken config file."""
    home = aos_home()
    config_path = home / "config.toml"
    key = stamp = None
    if cache_enabled():
        entry = read_entry(home)
        stamp = quick_stamp(config_path)  # stored beside the key, for `aos --help` (discovery_cache)
        key = discovery_key(config_path, home / "plugins")
        if entry is not None and entry.get("key") == key:
            if entry.get("stamp") != stamp:  # same plugins, a site directory touched: refresh the stamp
                write_cached(home, key, entry["report"], stamp)
            return dict(entry["report"])
    # the plugin loader alone, as `Runtime` runs it: no executor, event loop or run store to import
    from aos_core.plugins.discovery import discover_plugins

    disabled, plugin_config = _plugin_settings(config_path)
    with _no_collections_while_loading():
        registry = discover_plugins(disabled, plugin_config=plugin_config, schemas=True)
    report = {
        "plugins": [r.model_dump(mode="json") for r in registry.reports],
        "skills": [registry.skills[name].metadata.model_dump(mode="json") for name in sorted(registry.skills)],
        "estimators": _pricing(registry),
        "commands": [{"name": n, "help": c.help, "plugin": c.plugin} for n, c in sorted(registry.commands.items())],
    }
    if key is not None:
        write_cached(home, key, report, stamp)
    return report


@contextlib.contextmanager
def _no_collections_while_loading() -> Iterator[None]:
    """While the plugins load, the collector does not run, and the objects that existed before
    (click, pydantic, aos-core's modules) are left out of its collections, then put back in the
    oldest generation. Loading 300 small plugins made ~175 collections: 155 ms of 850 (CPU, 2 busy
    cores), 65 ms with the old objects frozen; with the collector off too, discovery of 300
    plugins takes 339-343 ms of CPU instead of 356-373 (in-process, same run), for 2 MiB more
    peak memory (43 -> 45 MiB): the little cyclic garbage loading makes waits for the next
    collection. A freeze someone else made is left as it is, and so is a collector they turned off."""
    if gc.get_freeze_count():
        yield
        return
    enabled = gc.isenabled()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
        gc.unfreeze()


# What a plugin may contribute that changes how any skill is called (its price, how its failures
# are classified, the memory it reads): such plugins are loaded for every call.
_FOR_EVERY_CALL = ("classifiers", "estimators", "memory_backends", "embedders")


def plugins_for_skill(skill: str) -> dict[str, str] | None:
    """The installed plugins a call of `skill` needs, by the discovery report: the one that
    provides it and every one that prices, classifies or remembers for all skills, each with its
    distribution; None when no plugin provides it (then every plugin loads, so the error can
    suggest close names).

    The report is taken as `aos --help` takes it, on the cheap stamp (an install, an uninstall or
    a config change resets it); a plugin edited in place since may have moved a skill, so
    `aos exec` loads every plugin when the ones named here turn out not to provide it.
    `aos exec` with 300 plugins installed imported all 300 for one call of one skill; then it
    hashed every plugin's files and read every distribution's entry points to find one."""
    if not cache_enabled():
        return None  # working it out means loading every plugin: no cheaper than loading them
    home = aos_home()
    entry = read_entry(home)
    fresh = entry is not None and entry.get("stamp") == quick_stamp(home / "config.toml")
    plugins = entry["report"]["plugins"] if fresh and entry is not None else discovered()["plugins"]
    loaded = [p for p in plugins if p["status"] == "loaded" and p.get("distribution")]
    provider = next((p for p in loaded if skill in p.get("skills", ())), None)
    if provider is None:
        return None
    needed = [provider, *(p for p in loaded if any(p.get(k) for k in _FOR_EVERY_CALL))]
    return {str(p["name"]): str(p["distribution"]) for p in needed}


def plugin_commands() -> list[dict[str, str]]:
    """The commands plugins add: `{"name", "help", "plugin"}` each, sorted by name."""
    commands: list[dict[str, str]] = discovered().get("commands", [])
    return commands


def load_plugin_command(name: str) -> tuple[click.Command, str] | None:
    """The command `name` a plugin adds and that plugin's name, loading only that plugin; None
    when no plugin adds it.

    A plugin that loaded at discovery but fails now ends the command with exit 3 and the reason.
    """
    entry = next((c for c in plugin_commands() if c["name"] == name), None)
    if entry is None:
        return None
    from aos_core.plugins.discovery import entry_point_sources
    from aos_core.plugins.loader import load_plugins

    plugin = entry["plugin"]
    sources = [s for s in entry_point_sources() if s.name == plugin][:1]
    _, plugin_config = _plugin_settings(aos_home() / "config.toml")
    registry = load_plugins(sources, plugin_config=plugin_config)
    found = registry.commands.get(name)
    if found is None:
        from aos_core.cli.io import EXIT_CODES, fail

        why = registry.reports[0].reason if registry.reports else "it is no longer installed"
        message = f"plugin {plugin!r}, which provides `aos {name}`, failed to load: {why}"
        fail(message, EXIT_CODES["VALIDATION"], error_code="PLUGIN_FAILED")
    command: click.Command = found.command
    return command, plugin


def _plugin_settings(path: Path) -> tuple[tuple[str, ...], PluginConfig]:
    """The switched-off plugins and each plugin's table, from the configuration file; none and
    empty without one (then neither tomllib nor the config model is imported: 2 ms)."""
    if not path.exists():
        return (), {}
    from aos_core.contracts.config import ConfigError, RuntimeConfig

    try:
        config = RuntimeConfig.from_toml(path)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    return config.disabled_plugins, config.plugins


def _pricing(registry: Any) -> dict[str, dict[str, str]]:
    """For each skill an estimator prices: that estimator's name and plugin (chosen as the executor
    chooses, once, by priority); skills missing here are priced by their metadata's cost model."""
    if not registry.estimators:
        return {}
    from aos_core.budget.estimators import choose_estimators

    plugin_of = {id(ranked.obj): ranked.plugin for ranked in registry.estimators}
    return {
        skill: {"estimator": str(estimator.name), "plugin": plugin_of.get(id(estimator), "")}
        for skill, estimator in sorted(choose_estimators(registry).items())
    }
