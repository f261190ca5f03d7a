"""Test helpers for AOS users and plugin authors: fakes, fixtures and the contract test-kit.

Public module. Names are loaded on first use; those needing hypothesis require the
`aos-core[testing]` extra.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS: dict[str, str] = {
    "VirtualClock": "aos_core.execution.clock",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aos_core.testing' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
