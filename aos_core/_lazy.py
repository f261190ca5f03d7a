"""Lazy public names, listed once: in the package's `__init__.pyi`.

A public package's stub file is the one list of its public API: type checkers read it, and at
run time `attach` reads the same file's `from X import A, B` lines to load each name from its
module on first use. `import aos_core` therefore costs nothing (the CLI's `--help` and discovery
never build a model), and a name cannot be exported in one list and missing from another.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from importlib import import_module
from pathlib import Path
from typing import Any

__all__ = ["attach", "from_modules"]

_IMPORT = re.compile(r"^from\s+([\w.]+)\s+import\s+(\([^)]*\)|[^\n]+)", re.MULTILINE)
_NAME = re.compile(r"(\w+)(?:\s+as\s+(\w+))?")
_ALIAS = re.compile(r"^(\w+) = (\w+)\b", re.MULTILINE)


def _exports(stub: Path) -> dict[str, tuple[str, str]]:
    """public name -> (module, attribute), from the stub's import lines and `Other = Name` aliases."""
    text = stub.read_text("utf-8")
    found: dict[str, tuple[str, str]] = {}
    for module, names in _IMPORT.findall(text):
        if module == "__future__":
            continue
        for match in _NAME.finditer(names.strip("()")):
            attribute, alias = match.group(1), match.group(2)
            found[alias or attribute] = (module, attribute)
    for alias, name in _ALIAS.findall(text):
        if name in found:
            found[alias] = found[name]
    return found


def attach(
    package: str, init_file: str, extra: tuple[str, ...] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """(`__getattr__`, `__dir__`) for `package`, whose stub sits beside `init_file`.
    `extra`: names defined in the package itself that belong to `__all__` too."""
    cache: dict[str, dict[str, tuple[str, str]]] = {}

    def exports() -> dict[str, tuple[str, str]]:
        if not cache:
            cache["names"] = _exports(Path(init_file).with_suffix(".pyi"))
        return cache["names"]

    def __getattr__(name: str) -> Any:
        if name == "__all__":
            return sorted([*exports(), *extra])
        target = exports().get(name)
        if target is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(target[0]), target[1])
        sys.modules[package].__dict__[name] = value  # later lookups skip __getattr__
        return value

    def __dir__() -> list[str]:
        return sorted([*exports(), *extra])

    return __getattr__, __dir__


def from_modules(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """`__getattr__` for a private package whose names (name -> module) load on first use."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module), name)
        sys.modules[package].__dict__[name] = value  # later lookups skip __getattr__
        return value

    return __getattr__
