"""Plugin loading: discovery through entry points, per-plugin validation, the registry."""

from aos_core.plugins.contributions import CORE_COMMANDS, CommandEntry, ContributionError, SkillEntry
from aos_core.plugins.discovery import (
    ENTRY_POINT_GROUP,
    disabled_from_env,
    discover_plugins,
    entry_point_sources,
    object_sources,
)
from aos_core.plugins.loader import PluginConfig, PluginSource, Ranked, Registry, load_plugins
from aos_core.plugins.reports import PluginReport

__all__ = [
    "CORE_COMMANDS",
    "ENTRY_POINT_GROUP",
    "CommandEntry",
    "ContributionError",
    "PluginConfig",
    "PluginReport",
    "PluginSource",
    "Ranked",
    "Registry",
    "SkillEntry",
    "disabled_from_env",
    "discover_plugins",
    "entry_point_sources",
    "load_plugins",
    "object_sources",
]
