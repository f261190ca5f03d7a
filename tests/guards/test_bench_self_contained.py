"""bench/ runs from a fresh clone: it reads nothing outside the repository, and its yardstick CLI works."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTSIDE = re.compile(r"/work/|\.\./shared|\.\.[/\\]\.\.")


def test_no_bench_file_points_outside_the_repository() -> None:
    found = [
        f"{path.name}:{number}: {line.strip()}"
        for path in sorted((ROOT / "bench").glob("*.py"))
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if OUTSIDE.search(line)
    ]
    assert not found, found


def test_the_cold_start_yardstick_runs_from_the_repository() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "mincli.py"), "list", "--json"],
        capture_output=True, text=True, timeout=60, check=True,
    )
    assert json.loads(done.stdout) == {"entry_points": 0, "skills": []}
