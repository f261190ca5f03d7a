"""What the CLI remembers in $AOS_HOME besides runs: the plugins `aos install` installed, and the
cost warnings (`StructuredOutcome.cost_warning`) `aos exec` and `aos run` saw, per estimator.

Both are small JSON files, rewritten whole through a temporary file and a rename, so a reader
never sees half of one. A file that cannot be read counts as empty; one that cannot be written
is reported on stderr and the command goes on: neither is worth failing a command for.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from aos_core.cli.home import aos_home

__all__ = ["INSTALLED_FILE", "WARNINGS_FILE", "cost_warnings", "installed", "note_cost_warnings", "note_installed"]

INSTALLED_FILE = "installed-plugins.json"
WARNINGS_FILE = "cost-warnings.json"


def _read(name: str) -> dict[str, Any]:
    try:
        data = json.loads((aos_home() / name).read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write(name: str, data: dict[str, Any]) -> None:
    home = aos_home()
    try:
        home.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=home)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, indent=1, sort_keys=True)
        Path(temporary).replace(home / name)
    except OSError as exc:
        click.echo(f"aos: note: could not write {home / name}: {exc.strerror or exc}", err=True)


def installed() -> dict[str, dict[str, Any]]:
    """Distribution -> {"version", "requirement", "installed_at"} of what `aos install` installed."""
    found = _read(INSTALLED_FILE).get("distributions", {})
    return found if isinstance(found, dict) else {}


def note_installed(added: dict[str, dict[str, Any]], removed: Iterable[str] = ()) -> None:
    """Remember distributions `aos install` installed (name -> version, requirement) and forget removed ones."""
    known = installed()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for name, info in added.items():
        known[name] = {**info, "installed_at": now}
    for name in removed:
        known.pop(name, None)
    _write(INSTALLED_FILE, {"distributions": known})


def cost_warnings() -> dict[str, dict[str, Any]]:
    """Estimator -> {"overrun": N, "unpriced": N, "last": message, "last_skill": skill, "last_at": time}."""
    found = _read(WARNINGS_FILE).get("estimators", {})
    return found if isinstance(found, dict) else {}


def note_cost_warnings(outcomes: Iterable[dict[str, Any]]) -> int:
    """Count the cost warnings among `outcomes` (as JSON) per estimator; returns how many there were."""
    seen = [(o.get("skill", ""), o["cost_warning"]) for o in outcomes if o.get("cost_warning")]
    if not seen:
        return 0
    counts = cost_warnings()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    for skill, warning in seen:
        entry = counts.setdefault(str(warning.get("estimator", "?")), {"overrun": 0, "unpriced": 0})
        kind = warning.get("kind", "unpriced")
        entry[kind] = int(entry.get(kind, 0)) + 1
        entry.update(last=warning.get("message", ""), last_skill=skill, last_at=now)
    _write(WARNINGS_FILE, {"estimators": counts})
    return len(seen)
