"""aos-core's own memory plugin (entry point `core-memory`): the SQLite and PostgreSQL backends
and the built-in embedders, loaded like any plugin so a plugin can replace one by priority.
Importing this module imports no database driver, no sqlite3 and no model."""

from __future__ import annotations

from aos_core.hookspecs import Register, hookimpl
from aos_core.memory.embedders import builtin_embedders
from aos_core.memory.urls import builtin_providers

__all__ = ["aos_register_embedders", "aos_register_memory"]


@hookimpl
def aos_register_memory(register: Register) -> None:
    for provider in builtin_providers():
        register(provider)


@hookimpl
def aos_register_embedders(register: Register) -> None:
    for embedder in builtin_embedders():
        register(embedder)
