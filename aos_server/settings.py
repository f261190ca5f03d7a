"""How one server is set up: where it listens, its workers, its store, profile and config.

The same settings go, as JSON, to every worker process, so the API process and the workers
build their `Runtime`s alike: the same store, configuration, base profile and extra plugins,
with budgets held in the store (`shared_budgets=True`) so every process shares them exactly.
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aos_core import AgentProfile, Runtime, RuntimeConfig

__all__ = ["ServerSettings", "aos_home", "store_path", "store_url"]


def aos_home() -> Path:
    """Where state lives: `AOS_HOME`, else the platform's app dir for "aos" (as the core CLI)."""
    import click

    return Path(os.environ.get("AOS_HOME") or click.get_app_dir("aos"))


def store_url(store: str | Path | None) -> str:
    """The store as `--store`/`AOS_STORE` give it: a `postgresql://` URL unchanged, else the
    SQLite file's path (`store_path`)."""
    if store is not None and str(store).startswith(("postgresql://", "postgres://")):
        return str(store)
    return str(store_path(store))


def store_path(store: str | Path | None) -> Path:
    """The run store's file: `--store`/`AOS_STORE` as a path, a directory or `sqlite:///PATH`;
    by default `$AOS_HOME/runs.sqlite3`. `ValueError` for a URL this release cannot use."""
    if store is None or str(store) == "":
        return aos_home() / "runs.sqlite3"
    text = str(store)
    if text.startswith("sqlite:///"):
        text = text.removeprefix("sqlite://")
    elif "://" in text:
        scheme = text.split("://", 1)[0]
        raise ValueError(f"store {scheme}://...: give a path, sqlite:///PATH or postgresql://...")
    path = Path(text)
    if path.is_dir() or not path.suffix:
        path = path / "runs.sqlite3"
    return path


class ServerSettings(BaseModel):
    """Everything `aos serve` was told; JSON-serialisable, handed to each worker."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=2, ge=0, le=64, description="Worker processes executing runs.")
    concurrency: int = Field(default=8, ge=1, le=1024, description="Runs one worker executes at once.")
    drain_timeout_s: float = Field(default=30.0, ge=0, description="How long in-flight steps may take to finish.")
    shutdown_timeout_s: float = Field(
        default=5.0, ge=0, description="uvicorn's graceful-shutdown timeout: open connections (event streams) after it."
    )
    store: str = Field(description="The run store: an SQLite file or a postgresql:// URL.")
    config: str | None = Field(default=None, description="Runtime configuration TOML.")
    profile: AgentProfile = Field(default_factory=AgentProfile, description="The base profile of every run.")
    plugins: tuple[str, ...] = Field(default=(), description="Extra plugin objects, as MODULE:ATTR.")
    lease_s: float = Field(default=15.0, gt=0, description="How long a run's lease lasts without a heartbeat.")
    queue: str = Field(
        default="aos_runs",
        min_length=1,
        max_length=200,
        description="A postgresql:// store's DBOS queue that submitted runs go to (an `aos worker --queue`).",
    )
    poll_s: float = Field(default=1.0, gt=0, description="How often an idle worker looks at the queue unwoken.")
    max_body_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    key_secrets: tuple[str, ...] = Field(
        default=(), description="Secrets keys without admin scope may name (${secrets.NAME}); admin keys may name any."
    )
    access_log: bool = True
    metrics: bool = Field(default=True, description="Prometheus metrics: `/metrics`, summed over every worker.")

    def runtime_config(self) -> RuntimeConfig:
        if self.config is not None:
            return RuntimeConfig.from_toml(self.config)
        default = aos_home() / "config.toml"
        return RuntimeConfig.from_toml(default) if default.exists() else RuntimeConfig()

    def extra_plugins(self) -> list[Any]:
        """The objects named by `plugins` (an attribute may hold one plugin or a list of them)."""
        found: list[Any] = []
        for target in self.plugins:
            module_name, _, attr = target.partition(":")
            value = getattr(importlib.import_module(module_name), attr or "plugin")
            found.extend(value if isinstance(value, list | tuple) else [value])
        return found

    def runtime(self) -> Runtime:
        """A `Runtime` on the store, budgets held in it, the base profile's policy and contract."""
        return Runtime(
            profile=self.profile,
            config=self.runtime_config(),
            plugins=self.extra_plugins(),
            store=self.store,
            shared_budgets=True,
            lease_s=self.lease_s,
            metrics=self.metrics,
        )
