"""Loading the plugin under test exactly as the core does, and runtimes that hold only it.

Everything goes through `aos_core.plugins.load_plugins`, so a plugin refused here is refused
with the very message `aos plugins` shows for it once installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aos_core.plugins import PluginReport, PluginSource, Registry, load_plugins, object_sources
from aos_core.plugins.discovery import ENTRY_POINT_GROUP

__all__ = ["ContractViolation", "check_plugin", "load_plugin", "resolve_plugin", "runtime_for"]


class ContractViolation(AssertionError):
    """A plugin or skill breaks its contract.

    When loading failed, the message is exactly the loader's reason (what `aos plugins` would
    show); `plugin`, `skill` and `example` (the parameters that showed it) say where.
    """

    def __init__(
        self, message: str, *, plugin: str | None = None, skill: str | None = None, example: Any = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.plugin = plugin
        self.skill = skill
        self.example = example

    def __str__(self) -> str:
        return self.message


def _source(target: Any) -> PluginSource:
    """A plugin object, a module, or an import path such as "pkg.plugin" (entry-point syntax)."""
    if isinstance(target, str):
        from importlib.metadata import EntryPoint

        entry = EntryPoint(name=target, value=target, group=ENTRY_POINT_GROUP)
        return PluginSource(name=target, module=target, load=entry.load)
    return object_sources([target])[0]


def load_plugin(target: Any, config: Mapping[str, Any] | None = None) -> tuple[Registry, PluginReport]:
    """Load one plugin on its own, as the core loads an entry point; the registry and its report.

    `config` is the plugin's own configuration table, given to its hooks as `config`.
    """
    source = _source(target)
    registry = load_plugins([source], plugin_config={source.name: config or {}}, schemas=True)
    return registry, registry.reports[0]


def check_plugin(target: Any, *, config: Mapping[str, Any] | None = None) -> PluginReport:
    """Load a plugin as the core would; `ContractViolation` with the loader's reason if it is refused.

    `target` is the plugin module or object, or its import path as written in the entry point
    (`"aos_skill_weather.plugin"`), which also catches a module that fails to import. `config` is
    what its hooks get as `config` (its `[plugins.NAME]` table in a runtime configuration).
    """
    _, report = load_plugin(target, config)
    if report.status != "loaded":
        raise ContractViolation(report.reason or report.status, plugin=report.name)
    return report


def resolve_plugin(target: Any) -> Any:
    """The plugin object for `target`, loaded and checked by `check_plugin` first."""
    check_plugin(target)
    return _source(target).load() if isinstance(target, str) else target


def runtime_for(
    *plugins: Any,
    skills: Iterable[Any] = (),
    seed: int = 0,
    clock: Any = None,
    strict: bool = True,
    **options: Any,
) -> Any:
    """A `Runtime` holding only aos-core's built-in plugins and `plugins` (objects, modules or paths).

    Deterministic by default: seed 0 and a `VirtualClock`. `skills` are registered through a
    `FakePlugin`. With `strict` (the default) a plugin that fails to load raises
    `ContractViolation` with the loader's reason instead of being left out silently. Other
    keyword arguments go to `Runtime` (profile, contract, config, secrets, approve...). Close it
    (`with runtime_for(...) as rt:`), or use the `aos_runtime_factory` fixture.
    """
    from aos_core.execution.clock import VirtualClock
    from aos_core.runtime import Runtime
    from aos_core.testing.fakes import FakePlugin

    objects = [resolve_plugin(p) if strict or isinstance(p, str) else p for p in plugins]
    skills = list(skills)
    if skills:
        objects.append(FakePlugin(skills=skills, name="fake-skills"))
    runtime = Runtime(
        plugins=objects,
        entry_points=False,
        seed=seed,
        clock=clock if clock is not None else VirtualClock(),
        **options,
    )
    failed = [r for r in runtime.plugins if r.distribution is None and r.status == "failed"]
    if strict and failed:
        runtime.close()
        raise ContractViolation(failed[0].reason or "failed to load", plugin=failed[0].name)
    return runtime
