"""A plugin the `aos` CLI discovers without pip: a module plus a `.dist-info` on PYTHONPATH.

`importlib.metadata` finds distributions in every `sys.path` entry, so a directory holding
`NAME.py` and `NAME-0.1.0.dist-info/{METADATA,entry_points.txt}` is an installed plugin for any
process started with that directory on PYTHONPATH: a real entry point, read the way the core
reads every plugin, for a test that runs `aos` in a subprocess.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

__all__ = ["plugin_env", "write_plugin"]


def write_plugin(directory: Path, module: str, source: str) -> Path:
    """Write `module` (its source) and a distribution declaring it as an entry point in group `aos`."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{module}.py").write_text(textwrap.dedent(source), "utf-8")
    info = directory / f"{module}-0.1.0.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1.0\n", "utf-8")
    (info / "entry_points.txt").write_text(f"[aos]\n{module} = {module}\n", "utf-8")
    return directory


def plugin_env(directory: Path) -> dict[str, str]:
    """Environment variables for a subprocess that should see the plugin in `directory`."""
    path = os.pathsep.join(p for p in (str(directory), os.environ.get("PYTHONPATH", "")) if p)
    return {"PYTHONPATH": path, "AOS_NO_CACHE": "1"}
