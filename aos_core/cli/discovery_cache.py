"""A cache of what discovery found, so `aos skills`, `aos plugins` and `aos describe` need not
import pydantic or any plugin when nothing changed.

The key covers everything the answer depends on: the entry points in the group `aos` (name,
target, distribution and version), the size and modification time of every Python file of each
plugin's top-level package and of aos-core itself, the switched-off plugins, the configuration
file and the Python version. Any change there makes a miss, and a miss runs real discovery.

`aos --help`, which only lists the commands plugins add, checks a cheaper stamp instead: the
modification times of the `sys.path` directories (pip adds or removes a `.dist-info` there on
every install, upgrade and uninstall), the configuration file and the switched-off plugins. It
skips importing importlib.metadata and hashing every plugin file: measured with farm-bench on 2
cores, listing plugin commands this way costs `aos --help` about 3 ms (40 -> 43 ms), the full key
about 14 ms. An edit inside an installed plugin's files is seen by the next command that runs.
Standard library only: this module is imported on the fast path.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = [
    "CACHE_FORMAT",
    "cache_enabled",
    "discovery_key",
    "listed_commands",
    "quick_stamp",
    "read_cached",
    "read_entry",
    "write_cached",
]

CACHE_FORMAT = 2
_SKIP_DIRS = {"__pycache__", "tests", ".git", "build", "dist"}


def cache_enabled() -> bool:
    """Off with `AOS_NO_CACHE=1`."""
    return os.environ.get("AOS_NO_CACHE", "") in ("", "0")


def discovery_key(config_path: Path | None, plugin_state: Path | None = None) -> str:
    """A digest of everything discovery's answer depends on. `plugin_state` is the directory
    where plugins keep what their hooks read (`$AOS_HOME/plugins`: aos-skill-mcp's cached tool
    lists): a file written there changes the key."""
    import hashlib
    from importlib.metadata import entry_points

    parts: list[Any] = [CACHE_FORMAT, sys.version, os.environ.get("AOS_DISABLE_PLUGINS", "")]
    packages = {"aos_core"}
    for ep in sorted(entry_points(group="aos"), key=lambda e: (e.name, e.value)):
        dist = getattr(ep, "dist", None)
        # the raw METADATA text (name, version...) hashed: reading it is cheaper than parsing it
        metadata = (dist.read_text("METADATA") or "") if dist is not None else ""
        parts.append([ep.name, ep.value, hashlib.sha256(metadata.encode()).hexdigest()])
        packages.add(ep.value.split(":")[0].split(".")[0])
    for package in sorted(packages):
        parts.append([package, _package_files(package)])
    if config_path is not None and config_path.exists():
        stat = config_path.stat()
        parts.append([str(config_path), stat.st_mtime_ns, stat.st_size])
    if plugin_state is not None and plugin_state.is_dir():
        parts.append(["plugin state", _files_under(str(plugin_state))])
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def quick_stamp(config_path: Path | None) -> list[Any]:
    """What an install, an uninstall or a configuration change always touches (kept as is: a
    digest would cost hashlib's import, 2 ms)."""
    parts: list[Any] = [CACHE_FORMAT, sys.version, os.environ.get("AOS_DISABLE_PLUGINS", "")]
    for entry in [*sys.path, str(config_path or "")]:
        try:
            stat = os.stat(entry or ".")
        except OSError:
            parts.append([entry, None])
            continue
        parts.append([entry, stat.st_mtime_ns, stat.st_size])
    return parts


def _package_files(name: str) -> list[Any]:
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return ["unfindable"]
    if spec is None:
        return ["missing"]
    roots = list(spec.submodule_search_locations or []) or ([spec.origin] if spec.origin else [])
    found: list[Any] = []
    for root in roots:
        if os.path.isfile(root):
            stat = os.stat(root)
            found.append([root, stat.st_mtime_ns, stat.st_size])
            continue
        found.extend(_files_under(root, (".py", ".json", ".toml")))
    return found


def _files_under(root: str, suffixes: tuple[str, ...] | None = None) -> list[Any]:
    """`[path, mtime_ns, size]` of each file under `root` (with one of `suffixes`), in a stable order."""
    found: list[Any] = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
        for file in sorted(files):
            if suffixes is None or file.endswith(suffixes):
                path = os.path.join(directory, file)
                try:
                    stat = os.stat(path)
                except OSError:  # removed while we walked: the next key sees it gone
                    continue
                found.append([path, stat.st_mtime_ns, stat.st_size])
    return found


def _cache_file(home: Path) -> Path:
    return home / "cache" / f"discovery-v{CACHE_FORMAT}.json"


def read_entry(home: Path) -> dict[str, Any] | None:
    """The cache file as written (`{"key", "stamp", "report"}`), or None when missing or unreadable."""
    try:
        data = json.loads(_cache_file(home).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("report"), dict):
        return None
    return data


def listed_commands(home: Path, config_path: Path) -> list[dict[str, str]] | None:
    """The plugin commands of the cached report when the cheap stamp matches, else None (run discovery)."""
    if not cache_enabled():
        return None
    data = read_entry(home)
    if data is None or data.get("stamp") != quick_stamp(config_path):
        return None
    commands = data["report"].get("commands")
    return commands if isinstance(commands, list) else None


def read_cached(home: Path, key: str) -> dict[str, Any] | None:
    """The cached discovery report for `key`, or None (missing, stale or unreadable)."""
    data = read_entry(home)
    if data is None or data.get("key") != key:
        return None
    report: dict[str, Any] = data["report"]
    return report


def write_cached(home: Path, key: str, report: dict[str, Any], stamp: list[Any] | None = None) -> bool:
    """Store `report` atomically; False when the home is not writable (the cache is optional)."""
    target = _cache_file(home)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"key": key, "stamp": stamp, "report": report}), "utf-8")
        os.replace(temporary, target)
    except OSError:
        return False
    return True
