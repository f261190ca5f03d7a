"""What loading found: the sources plugins come from, and the registry of what they contributed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pluggy

from aos_core.plugins.contributions import CommandEntry, SkillEntry
from aos_core.plugins.reports import PluginReport

__all__ = ["PluginSource", "Ranked", "Registry"]


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
    commands: dict[str, CommandEntry] = field(default_factory=dict)
    memory_backends: dict[str, Ranked] = field(default_factory=dict)  # by URL scheme
    embedders: dict[str, Ranked] = field(default_factory=dict)
    reports: list[PluginReport] = field(default_factory=list)
    manager: pluggy.PluginManager | None = None

    @property
    def failed(self) -> list[PluginReport]:
        return [r for r in self.reports if r.status == "failed"]
