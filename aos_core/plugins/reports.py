"""What loading found out about each plugin, as data for `aos plugins`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["PluginReport"]


class PluginReport(BaseModel):
    """One plugin (entry point or in-process object) and what became of it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    distribution: str | None = None
    version: str | None = None
    module: str
    status: Literal["loaded", "failed", "disabled"]
    reason: str | None = None
    hooks: tuple[str, ...] = ()
    skills: tuple[str, ...] = ()
    planners: tuple[str, ...] = ()
    classifiers: tuple[str, ...] = ()
    estimators: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    memory_backends: tuple[str, ...] = ()
    embedders: tuple[str, ...] = ()

    @property
    def origin(self) -> str:
        """`dist 1.2.0`, or the module for in-process plugins."""
        if self.distribution:
            return f"{self.distribution} {self.version or ''}".strip()
        return self.module
