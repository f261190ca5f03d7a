"""Plugin loading: each entry point is imported, registered and validated on its own.

pluggy's bulk loader stops at the first plugin that fails; here a plugin that fails to import,
declares a hook argument the spec lacks, raises in a hook, or registers an invalid or clashing
contribution is reported with its reason and withdrawn, and every other plugin keeps working.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from aos_core import hookspecs
from aos_core.plugins.contributions import (
    ContributionError,
    SkillEntry,
    validate_classifier,
    validate_estimator,
    validate_planner,
    validate_skill,
)
from aos_core.plugins.memory_contributions import validate_embedder, validate_memory_backend
from aos_core.plugins.reports import PluginReport

__all__ = ["PluginSource", "Ranked", "Registry", "load_plugins"]

_KINDS = {
    "aos_register_skills": "skills",
    "aos_register_planners": "planners",
    "aos_register_classifiers": "classifiers",
    "aos_register_estimators": "estimators",
    "aos_register_memory": "memory_backends",
    "aos_register_embedders": "embedders",
}
_SPEC_ARGS = {name: tuple(inspect.signature(getattr(hookspecs, name)).parameters) for name in _KINDS}


@dataclass(frozen=True, slots=True)
class PluginSource:
    """Something to load as a plugin: an entry point, or an object given in-process."""

    name: str
    module: str
    load: Callable[[], Any]
    distribution: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class Ranked:
    """A planner, classifier or estimator with the priority it was registered at."""

    obj: Any
    name: str
    priority: int
    plugin: str


@dataclass
class Registry:
    """Everything the loaded plugins contributed, validated, plus a report per plugin."""

    skills: dict[str, SkillEntry] = field(default_factory=dict)
    planners: dict[str, Ranked] = field(default_factory=dict)
    classifiers: list[Ranked] = field(default_factory=list)
    estimators: list[Ranked] = field(default_factory=list)
    memory_backends: dict[str, Ranked] = field(default_factory=dict)  # by URL scheme
    embedders: dict[str, Ranked] = field(default_factory=dict)
    reports: list[PluginReport] = field(default_factory=list)
    manager: pluggy.PluginManager | None = None

    @property
    def failed(self) -> list[PluginReport]:
        return [r for r in self.reports if r.status == "failed"]


@dataclass
class _Loaded:
    source: PluginSource
    hooks: list[str]
    skills: list[SkillEntry] = field(default_factory=list)
    planners: list[Ranked] = field(default_factory=list)
    classifiers: list[Ranked] = field(default_factory=list)
    estimators: list[Ranked] = field(default_factory=list)
    memory_backends: list[Ranked] = field(default_factory=list)
    embedders: list[Ranked] = field(default_factory=list)
    reason: str | None = None


class _PluginFailure(Exception):
    pass


def load_plugins(sources: Iterable[PluginSource], disabled: Iterable[str] = ()) -> Registry:
    """Load every source into a fresh plugin manager and return the validated registry."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    off = set(disabled)
    registry = Registry(manager=manager)
    loaded: list[_Loaded] = []
    for source in sources:
        if source.name in off:
            registry.reports.append(_report(source, "disabled", "switched off by configuration"))
            continue
        try:
            loaded.append(_load_one(manager, source))
        except _PluginFailure as failure:
            registry.reports.append(_report(source, "failed", str(failure)))
    _refuse_clashing_skills(loaded)
    for item in loaded:
        if item.reason is not None:
            _unregister(manager, item.source.name)
            registry.reports.append(_report(item.source, "failed", item.reason, item.hooks))
            continue
        _accept(registry, item)
    registry.classifiers.sort(key=lambda r: -r.priority)
    registry.estimators.sort(key=lambda r: -r.priority)
    return registry


def _load_one(manager: pluggy.PluginManager, source: PluginSource) -> _Loaded:
    try:
        plugin = source.load()
    except Exception as exc:  # noqa: BLE001 - a plugin's import may fail in any way; report it
        raise _PluginFailure(
            f"cannot import {source.module}: {type(exc).__name__}: {_line(exc)}; "
            "fix the plugin's import or install what it needs"
        ) from None
    hooks = _check_hooks(manager, plugin)
    if not hooks:
        raise _PluginFailure(
            f"{source.module} implements no AOS hook; mark a function such as "
            "aos_register_skills(register) with @aos_core.hookimpl"
        )
    try:
        manager.register(plugin, name=source.name)
    except (ValueError, pluggy.PluginValidationError) as exc:
        raise _PluginFailure(f"pluggy refused it: {_line(exc)}") from None
    item = _Loaded(source, hooks)
    for hook in hooks:
        _collect(item, hook, getattr(plugin, hook))
        if item.reason:
            break
    return item


def _check_hooks(manager: pluggy.PluginManager, plugin: Any) -> list[str]:
    hooks = []
    for attr in dir(plugin):
        if manager.parse_hookimpl_opts(plugin, attr) is None:
            continue
        if attr not in _KINDS:
            close = difflib.get_close_matches(attr, _KINDS, n=1)
            hint = f"; did you mean {close[0]}?" if close else f"; the hooks are {', '.join(_KINDS)}"
            raise _PluginFailure(f"{attr} is not an AOS hook{hint}")
        params = [
            p.name
            for p in inspect.signature(getattr(plugin, attr)).parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
        extra = [p for p in params if p not in _SPEC_ARGS[attr]]
        if extra:
            names = ", ".join(repr(p) for p in extra)
            raise _PluginFailure(
                f"hook {attr} declares argument(s) {names} that the spec does not have; "
                f"its signature must be {attr}({', '.join(_SPEC_ARGS[attr])})"
            )
        hooks.append(attr)
    return hooks


def _collect(item: _Loaded, hook: str, function: Callable[..., Any]) -> None:
    kind = _KINDS[hook]
    staged: list[tuple[Any, int]] = []

    def register(obj: Any, priority: int = 0) -> None:
        if not isinstance(priority, int) or isinstance(priority, bool):
            raise TypeError(f"priority must be an int, got {priority!r}")
        staged.append((obj, priority))

    wanted = inspect.signature(function).parameters
    try:
        function(**({"register": register} if "register" in wanted else {}))
    except Exception as exc:  # noqa: BLE001 - a hook may raise anything; it is the plugin's failure
        item.reason = f"hook {hook} raised {type(exc).__name__}: {_line(exc)}; fix the hook so it only registers"
        return
    name = item.source.name
    try:
        for obj, priority in staged:
            if kind == "skills":
                item.skills.append(validate_skill(obj, name))
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
    names = [entry.metadata.name for entry in item.skills]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        item.reason = f"registers skill {twice[0]!r} twice; register each skill once"


def _refuse_clashing_skills(loaded: list[_Loaded]) -> None:
    owners: dict[str, list[_Loaded]] = {}
    for item in loaded:
        if item.reason is None:
            for entry in item.skills:
                owners.setdefault(entry.metadata.name, []).append(item)
    for skill, items in sorted(owners.items()):
        if len(items) < 2:
            continue
        for item in items:
            others = ", ".join(f"'{o.source.name}' ({_origin(o.source)})" for o in items if o is not item)
            item.reason = (
                f"skill {skill!r} is also registered by plugin {others}; both are refused so neither "
                f"shadows the other; rename one skill or disable one plugin (AOS_DISABLE_PLUGINS)"
            )


def _accept(registry: Registry, item: _Loaded) -> None:
    for entry in item.skills:
        registry.skills[entry.metadata.name] = entry
    for planner in item.planners:
        current = registry.planners.get(planner.name)
        if current is None or planner.priority > current.priority:
            registry.planners[planner.name] = planner
    registry.classifiers.extend(item.classifiers)
    registry.estimators.extend(item.estimators)
    _accept_memory(registry, item)
    registry.reports.append(
        _report(
            item.source,
            "loaded",
            None,
            item.hooks,
            skills=tuple(e.metadata.name for e in item.skills),
            planners=tuple(p.name for p in item.planners),
            classifiers=tuple(c.name for c in item.classifiers),
            estimators=tuple(e.name for e in item.estimators),
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


def _line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text[:300] if text else "(no message)"
