"""A cache of what discovery found, so `aos skills`, `aos plugins` and `aos describe` need not
import pydantic or any plugin when nothing changed.

The key covers everything the answer depends on: the entry points in the group `aos` (name,
target, distribution and version), the size and modification time of every Python file of each
plugin's top-level package and of aos-core itself, the switched-off plugins, the configuration
file and the Python version. Any change there makes a miss, and a miss runs real discovery.
Standard library only: this module is imported on the fast path.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Any

__all__ = ["CACHE_FORMAT", "cache_enabled", "discovery_key", "read_cached", "write_cached"]

CACHE_FORMAT = 1
_SKIP_DIRS = {"__pycache__", "tests", ".git", "build", "dist"}


def cache_enabled() -> bool:
    """Off with `AOS_NO_CACHE=1`."""
    return os.environ.get("AOS_NO_CACHE", "") in ("", "0")


def discovery_key(config_path: Path | None) -> str:
    """A digest of everything discovery's answer depends on."""
    from importlib_metadata import entry_points

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
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _package_files(name: str) -> list[Any]:
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
        for directory, dirs, files in os.walk(root):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS)
            for file in sorted(files):
                if file.endswith((".py", ".json", ".toml")):
                    path = os.path.join(directory, file)
                    stat = os.stat(path)
                    found.append([path, stat.st_mtime_ns, stat.st_size])
    return found


def _cache_file(home: Path) -> Path:
    return home / "cache" / f"discovery-v{CACHE_FORMAT}.json"


def read_cached(home: Path, key: str) -> dict[str, Any] | None:
    """The cached discovery report for `key`, or None (missing, stale or unreadable)."""
    try:
        data = json.loads(_cache_file(home).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    report = data.get("report")
    return report if isinstance(report, dict) else None


def write_cached(home: Path, key: str, report: dict[str, Any]) -> bool:
    """Store `report` atomically; False when the home is not writable (the cache is optional)."""
    target = _cache_file(home)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"key": key, "report": report}), "utf-8")
        os.replace(temporary, target)
    except OSError:
        return False
    return True
