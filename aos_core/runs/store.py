"""The run store interface. SQLite implements it; a PostgreSQL store can implement it later."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from aos_core.contracts.runs import RunSummary
from aos_core.runs.trace import TraceDocument

__all__ = ["RunNotFound", "RunStore", "StoredRun", "default_store_path"]


class RunNotFound(LookupError):
    """No run with that id (or unique id prefix) in the store."""


@dataclass
class StoredRun:
    """A run as persisted: its trace so far, and steps that started but never committed."""

    run_id: str
    status: str
    trace: TraceDocument
    in_flight: list[str] = field(default_factory=list)
    pid: int | None = None


class RunStore(Protocol):
    """Durable runs. A step is completed once `commit_steps` returned."""

    def create_run(self, run_id: str, header: dict[str, Any], goal: str) -> None: ...

    def mark_started(self, run_id: str, step_id: str) -> None:
        """Durably note that a side-effecting step is about to run."""
        ...

    def commit_steps(self, run_id: str, records: list[dict[str, Any]]) -> None:
        """Durably store finished steps, in one transaction."""
        ...

    def finish_run(self, run_id: str, status: str, end: dict[str, Any] | None) -> None: ...

    def set_status(self, run_id: str, status: str) -> None: ...

    def load_run(self, run_id: str) -> StoredRun: ...

    def list_runs(self, limit: int = 50) -> list[RunSummary]: ...

    def close(self) -> None: ...


def default_store_path() -> Path:
    """`$AOS_HOME/runs.sqlite3` (AOS_HOME defaults to the platform's app dir for "aos")."""
    home = os.environ.get("AOS_HOME")
    if not home:
        import click

        home = click.get_app_dir("aos")
    return Path(home) / "runs.sqlite3"
