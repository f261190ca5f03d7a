"""The test suite never touches the user's real AOS home (`~/.config/aos` on Linux).

Pytest hooks, imported by tests/conftest.py. At configure time, before any fixture of any scope
runs, `AOS_HOME` is pointed at a throwaway directory for the whole session (the per-test fixture
then narrows it further), and so is `XDG_CONFIG_HOME`: code that ignores AOS_HOME and falls back
to the default (`click.get_app_dir("aos")`) writes into that throwaway config home, never the real
one. At the end the session fails, naming the paths, if anything was written to the fallback's
`aos` folder or added under the real home. (Files already in the real home that change are not
counted: other processes on the machine may use it while the tests run.)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import click
import pytest

__all__ = ["changes", "pytest_configure", "pytest_sessionfinish", "pytest_unconfigure", "real_aos_home", "snapshot"]

_REAL = pytest.StashKey[tuple[Path, dict[str, tuple[int, int]]]]()
_SESSION_DIR = pytest.StashKey[Path]()


def real_aos_home() -> Path:
    """Where `aos` keeps state when AOS_HOME is not set."""
    return Path(click.get_app_dir("aos"))


def snapshot(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under `root` (relative path -> modification time, size); {} when it does not exist."""
    found = {}
    for directory, _dirs, files in os.walk(root):
        for name in files:
            path = Path(directory) / name
            try:
                stat = path.stat()
            except OSError:
                continue
            found[str(path.relative_to(root))] = (stat.st_mtime_ns, stat.st_size)
    return found


def changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """Files added or modified between two snapshots."""
    return sorted(path for path, stamp in after.items() if before.get(path) != stamp)


def pytest_configure(config: pytest.Config) -> None:
    real = real_aos_home()
    config.stash[_REAL] = (real, snapshot(real))
    session = Path(tempfile.mkdtemp(prefix="aos-test-session-"))
    config.stash[_SESSION_DIR] = session
    os.environ["AOS_HOME"] = str(session / "home")
    os.environ["XDG_CONFIG_HOME"] = str(session / "config")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    real, before = session.config.stash[_REAL]
    added = [path for path in changes(before, snapshot(real)) if path not in before]
    fallback = session.config.stash[_SESSION_DIR] / "config" / "aos"
    found = [(real, added), (fallback, sorted(snapshot(fallback)))]
    where = [(home, paths) for home, paths in found if paths]
    if not where:
        return
    home, touched = where[0]
    shown = ", ".join(touched[:10]) + (f" and {len(touched) - 10} more" if len(touched) > 10 else "")
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    message = f"the test run left files in the real AOS home {home}: {shown}; a test or fixture ignored AOS_HOME"
    if reporter is not None:
        reporter.write_line(f"ERROR: {message}", red=True)
    else:  # pragma: no cover - pytest always has a terminal reporter unless disabled
        print(f"ERROR: {message}")
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    session = config.stash.get(_SESSION_DIR, None)
    if session is not None:
        shutil.rmtree(session, ignore_errors=True)
