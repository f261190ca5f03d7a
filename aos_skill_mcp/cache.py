"""The tool-list cache: what each server's `tools/list` answered at the last `aos mcp refresh`.

Listing skills never starts a server: the plugin registers one skill per tool found here. An
entry belongs to a server's connection settings (command and arguments, or URL; never its
environment or headers, which hold secrets): once those change, the entry is stale and its tools
are not offered until the next refresh. Standard library only; written atomically.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

__all__ = ["CACHE_FORMAT", "fingerprint", "read_cache", "write_server_entry"]

# 2: refresh leaves out the tools whose schemas AOS will not apply (a `$ref` outside the schema, a
# pattern that backtracks exponentially; schemas.py): a cache of format 1 may still hold them, so it
# is not used until the next refresh
CACHE_FORMAT = 2


def fingerprint(server: Any) -> str:
    """A digest of how a server is reached (no secrets in it): a cache entry is valid only for it."""
    parts = [server.transport, server.command, list(server.args), server.cwd, server.url]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def read_cache(path: Path) -> tuple[dict[str, Any], str | None]:
    """The entries by server name, and why the file could not be used (None when it could, or is absent)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}, None
    except (OSError, ValueError) as exc:
        return {}, f"cannot read the tool cache {path}: {type(exc).__name__}; run `aos mcp refresh`"
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or not isinstance(data.get("servers"), dict):
        return {}, f"the tool cache {path} has another format; run `aos mcp refresh`"
    servers = {name: entry for name, entry in data["servers"].items() if isinstance(entry, dict)}
    return servers, None


def write_server_entry(path: Path, name: str, entry: dict[str, Any] | None) -> None:
    """Replace (or, with None, remove) one server's entry, keeping the others; atomic."""
    servers, _ = read_cache(path)
    if entry is None:
        servers.pop(name, None)
    else:
        servers[name] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps({"format": CACHE_FORMAT, "servers": servers}, indent=1, sort_keys=True), "utf-8")
    os.replace(temporary, path)
