"""Plugin loading: each entry point is imported, registered and validated on its own.

pluggy's bulk loader stops at the first plugin that fails; here a plugin that fails to import
(or exits, or raises any `BaseException` but `KeyboardInterrupt`), declares a hook argument the
spec lacks, leaves a hook unmarked, raises in a hook, or registers an invalid or clashing
contribution is reported with its reason and withdrawn, and every other plugin keeps working.
What a plugin prints while it loads goes to stderr: stdout belongs to the command's output.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pluggy

from aos_core import hookspecs
from aos_core.plugins.contributions import (
    CommandEntry,
    ContributionError,
    SkillEntry,
    validate_classifier,
    validate_commands,
    validate_estimator,
    validate_planner,
    validate_skill,
)
from aos_core.plugins.explain import (
    exception_summary,
    metadata_problem,
    one_line,
    plugin_file,
    reraise_if_interrupt,
)
from aos_core.plugins.hooks import KINDS, PluginFailure, WalkingManager
from aos_core.plugins.memory_contributions import validate_embedder, validate_memory_backend
from aos_core.plugins.registry import PluginSource, Ranked, Registry
from aos_core.plugins.reports import PluginReport

__all__ = ["PluginConfig", "PluginSource", "Ranked", "Registry", "load_plugins"]

_EXIT_ADVICE = "a plugin must never end the process: raise an exception instead"

PluginConfig = Mapping[str, Mapping[str, Any]]
"""Each plugin's own configuration table, by entry-point name (`[plugins.NAME]` in config.toml)."""


@dataclass
class _Loaded:
    source: PluginSource
    hooks: list[str]
    skills: list[SkillEntry] = field(default_factory=list)
    planners: list[Ranked] = field(default_factory=list)
    classifiers: list[Ranked] = field(default_factory=list)
    estimators: list[Ranked] = field(default_factory=list)
    commands: list[CommandEntry] = field(default_factory=list)
    memory_backends: list[Ranked] = field(default_factory=list)
    embedders: list[Ranked] = field(default_factory=list)
    reason: str | None = None
    schemas: bool = False  # generate the skills' JSON Schemas at load


def load_plugins(
    sources: Iterable[PluginSource],
    disabled: Iterable[str] = (),
    *,
    plugin_config: PluginConfig | None = None,
    schemas: bool = False,
) -> Registry:
    """Load every source into a fresh plugin manager and return the validated registry.

    `plugin_config` maps a plugin's name to its configuration table, given to its hooks as
    `config` (read-only); a plugin without one gets an empty mapping. With `schemas`, every
    skill's JSON Schemas are generated now (a plugin whose models cannot make one fails here);
    otherwise on first use (`SkillEntry.metadata`).
    """
    manager = WalkingManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    off = set(disabled)
    configs = plugin_config or {}
    registry = Registry(manager=manager)
    loaded: list[_Loaded] = []
    with _stdout_to_stderr():
        for source in sources:
            if source.name in off:
                registry.reports.append(_report(source, "disabled", "switched off by configuration"))
                continue
            try:
                loaded.append(_load_one(manager, source, _frozen(configs.get(source.name)), schemas))
            except PluginFailure as failure:
                registry.reports.append(_report(source, "failed", str(failure)))
            except BaseException as exc:  # noqa: BLE001 - any escape from a plugin's code (before it is registered)
                reraise_if_interrupt(exc)
                reason = f"failed while loading: {exception_summary(exc)}"
                registry.reports.append(_report(source, "failed", reason))
    _refuse_clashes(loaded, "skill", lambda item: [e.declared.name for e in item.skills])
    _refuse_clashes(loaded, "command", lambda item: [c.name for c in item.commands])
    for item in loaded:
        if item.reason is not None:
            _unregister(manager, item.source.name)
            registry.reports.append(_report(item.source, "failed", item.reason, item.hooks))
            continue
        _accept(registry, item)
    registry.classifiers.sort(key=lambda r: -r.priority)
    registry.estimators.sort(key=lambda r: -r.priority)
    return registry


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """A plugin's prints while loading go to stderr, so `--json` output on stdout stays clean."""
    if sys.stderr is None:  # no stderr at all (pythonw): drop them
        with contextlib.redirect_stdout(None):
            yield
        return
    with contextlib.redirect_stdout(sys.stderr):
        yield


def _frozen(config: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(copy.deepcopy(dict(config or {})))


def _load_one(
    manager: WalkingManager, source: PluginSource, config: Mapping[str, Any], schemas: bool = False
) -> _Loaded:
    try:
        plugin = source.load()
    except BaseException as exc:  # noqa: BLE001 - a plugin's import may fail in any way, even exit; report it
        reraise_if_interrupt(exc)
        raise PluginFailure(_import_failure(source.module, exc)) from None
    found: dict[str, tuple[str, ...]] = {}
    manager.found = found
    try:
        manager.register(plugin, name=source.name)
    except ValueError as exc:  # the name or the object is registered already: nothing was changed
        raise PluginFailure(f"pluggy refused it: {one_line(str(exc))}") from None
    except (pluggy.PluginValidationError, PluginFailure) as exc:
        if manager.get_plugin(source.name) is plugin:  # pluggy 1.5 records a plugin before walking it
            manager.unregister(plugin)
        if isinstance(exc, PluginFailure):
            raise
        raise PluginFailure(f"pluggy refused it: {one_line(str(exc))}") from None
    finally:
        manager.found = None
    if not found:
        _unregister(manager, source.name)
        raise PluginFailure(
            f"{source.module} implements no AOS hook; mark a function such as "
            "aos_register_skills(register) with @aos_core.hookimpl"
        )
    hooks = list(found)
    item = _Loaded(source, hooks, schemas=schemas)
    try:
        for hook in hooks:
            _collect(item, hook, getattr(plugin, hook), found[hook], config)
            if item.reason:
                break
    except BaseException as exc:  # noqa: BLE001 - the plugin's objects raised while being checked
        reraise_if_interrupt(exc)
        manager.unregister(plugin)
        raise PluginFailure(f"failed while loading: {exception_summary(exc)}") from None
    return item


def _import_failure(module: str, exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"{module} {exception_summary(exc)} while importing; {_EXIT_ADVICE}"
    if isinstance(exc, ImportError):
        return f"cannot import {module}: {exception_summary(exc)}; fix the plugin's import or install what it needs"
    problem = metadata_problem(exc)
    if problem is not None:
        return f"cannot import {module}: {problem}"
    return f"cannot import {module}: {exception_summary(exc)}{_at(exc)}; fix the module so that it imports"


def _at(exc: BaseException) -> str:
    where = plugin_file(exc.__traceback__)
    return f" (at {where})" if where else ""


def _collect(
    item: _Loaded, hook: str, function: Callable[..., Any], wanted: tuple[str, ...], config: Mapping[str, Any]
) -> None:
    kind = KINDS[hook]
    staged: list[tuple[Any, int]] = []

    def register(obj: Any, priority: int = 0) -> None:
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise TypeError(f"priority must be an int, got {priority!r}")
        staged.append((obj, priority))

    arguments: dict[str, Any] = {"config": config}
    group = None
    if kind == "commands":
        import click

        group = arguments["cli"] = click.Group(name="aos")
    else:
        arguments["register"] = register
    try:
        function(**{name: value for name, value in arguments.items() if name in wanted})
    except BaseException as exc:  # noqa: BLE001 - a hook may raise anything, even exit; it is the plugin's failure
        reraise_if_interrupt(exc)
        if isinstance(exc, SystemExit):
            item.reason = f"hook {hook} {exception_summary(exc)}; {_EXIT_ADVICE}"
        else:
            item.reason = f"hook {hook} raised {exception_summary(exc)}; fix the hook so it only registers"
        return
    name = item.source.name
    try:
        if group is not None:
            item.commands.extend(validate_commands(group, name))
        for obj, priority in staged:
            if kind == "skills":
                item.skills.append(validate_skill(obj, name, schemas=item.schemas))
            elif kind == "planners":
                item.planners.append(Ranked(obj, validate_planner(obj), priority, name))
            elif kind == "classifiers":
                item.classifiers.append(Ranked(obj, validate_classifier(obj), priority, name))
            elif kind in ("memory_backends", "embedders"):
                _collect_memory(item, kind, obj, priority)
            else:
                item.estimators.append(Ranked(obj, validate_estimator(obj), priority, name))
    except ContributionError as exc:
        item.reason = str(exc)
        return
    counts = collections.Counter(entry.declared.name for entry in item.skills)
    twice = sorted(n for n, times in counts.items() if times > 1)
    if twice:
        item.reason = f"registers skill {twice[0]!r} twice; register each skill once"


def _refuse_clashes(loaded: list[_Loaded], kind: str, names: Callable[[_Loaded], list[str]]) -> None:
    """Two plugins contributing the same skill (command) name: both are refused."""
    owners: dict[str, list[_Loaded]] = {}
    for item in loaded:
        if item.reason is None:
            for name in names(item):
                owners.setdefault(name, []).append(item)
    for name, items in sorted(owners.items()):
        if len(items) < 2:
            continue
        for item in items:
            others = ", ".join(f"'{o.source.name}' ({_origin(o.source)})" for o in items if o is not item)
            item.reason = (
                f"{kind} {name!r} is also registered by plugin {others}; both are refused so neither "
                f"shadows the other; rename one {kind} or disable one plugin (AOS_DISABLE_PLUGINS)"
            )


def _accept(registry: Registry, item: _Loaded) -> None:
    for entry in item.skills:
        registry.skills[entry.declared.name] = entry
    for planner in item.planners:
        current = registry.planners.get(planner.name)
        if current is None or planner.priority > current.priority:
            registry.planners[planner.name] = planner
    registry.classifiers.extend(item.classifiers)
    registry.estimators.extend(item.estimators)
    for command in item.commands:
        registry.commands[command.name] = command
    _accept_memory(registry, item)
    registry.reports.append(
        _report(
            item.source,
            "loaded",
            None,
            item.hooks,
            skills=tuple(e.declared.name for e in item.skills),
            planners=tuple(p.name for p in item.planners),
            classifiers=tuple(c.name for c in item.classifiers),
            estimators=tuple(e.name for e in item.estimators),
            commands=tuple(c.name for c in item.commands),
            memory_backends=tuple(b.name for b in item.memory_backends),
            embedders=tuple(e.name for e in item.embedders),
        )
    )


def _collect_memory(item: _Loaded, kind: str, obj: Any, priority: int) -> None:
    if kind == "embedders":
        item.embedders.append(Ranked(obj, validate_embedder(obj), priority, item.source.name))
    else:
        item.memory_backends.append(Ranked(obj, validate_memory_backend(obj)[0], priority, item.source.name))


def _accept_memory(registry: Registry, item: _Loaded) -> None:
    """Keep, per URL scheme and per embedder name, the highest priority (the first loaded on a tie)."""
    for backend in item.memory_backends:
        for scheme in backend.obj.schemes:
            current = registry.memory_backends.get(scheme)
            if current is None or backend.priority > current.priority:
                registry.memory_backends[scheme] = backend
    for embedder in item.embedders:
        current = registry.embedders.get(embedder.name)
        if current is None or embedder.priority > current.priority:
            registry.embedders[embedder.name] = embedder


def _report(
    source: PluginSource, status: str, reason: str | None, hooks: Iterable[str] = (), **contributed: Any
) -> PluginReport:
    return PluginReport(
        name=source.name,
        distribution=source.distribution,
        version=source.version,
        module=source.module,
        status=status,  # type: ignore[arg-type]
        reason=reason,
        hooks=tuple(hooks),
        **contributed,
    )


def _unregister(manager: pluggy.PluginManager, name: str) -> None:
    if manager.get_plugin(name) is not None:
        manager.unregister(name=name)


def _origin(source: PluginSource) -> str:
    return f"{source.distribution} {source.version}" if source.distribution else source.module
