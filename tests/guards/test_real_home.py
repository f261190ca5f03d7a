"""The suite never touches the real AOS home: AOS_HOME is set before any fixture, and a session that
leaves files there fails (tests/support/home_guard.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from home_guard import changes, real_aos_home, snapshot

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def home_seen_by_a_module_fixture() -> str | None:
    return os.environ.get("AOS_HOME")


def test_module_scoped_fixtures_already_have_a_throwaway_home(home_seen_by_a_module_fixture: str | None) -> None:
    assert home_seen_by_a_module_fixture is not None
    assert not Path(home_seen_by_a_module_fixture).resolve().is_relative_to(real_aos_home().resolve())


def test_a_snapshot_sees_files_added_and_changed(tmp_path: Path) -> None:
    (tmp_path / "old").write_text("1")
    before = snapshot(tmp_path)
    assert changes(before, snapshot(tmp_path)) == []
    (tmp_path / "cache").mkdir()
    (tmp_path / "cache" / "new.json").write_text("{}")
    (tmp_path / "old").write_text("22")
    assert changes(before, snapshot(tmp_path)) == ["cache/new.json", "old"]
    assert snapshot(tmp_path / "missing") == {}


LEAKY = """
import os
from pathlib import Path

import click


def test_writes_where_aos_would_without_aos_home():
    how = os.environ["LEAK"]
    if how == "none":
        return
    home = Path(click.get_app_dir("aos")) if how == "default" else Path(os.environ["REAL_HOME"])
    (home / "cache").mkdir(parents=True, exist_ok=True)
    (home / "cache" / "leak.json").write_text("{}")
"""


@pytest.mark.parametrize("leak", ["default", "real", "none"])
def test_a_session_that_leaves_files_in_the_real_home_fails(tmp_path: Path, leak: str) -> None:
    """A throwaway pytest session whose real config home is tmp_path/xdg: a test that writes where
    `aos` would with no AOS_HOME (the session's fallback) or into the real home itself fails it."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "conftest.py").write_text("from home_guard import pytest_configure, pytest_sessionfinish, pytest_unconfigure\n")
    (project / "test_leaky.py").write_text(LEAKY)
    env = {k: v for k, v in os.environ.items() if k != "AOS_HOME"}
    real = tmp_path / "xdg" / "aos"
    env |= {"XDG_CONFIG_HOME": str(tmp_path / "xdg"), "PYTHONPATH": str(ROOT / "tests" / "support")}
    env |= {"LEAK": leak, "REAL_HOME": str(real)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(project)],
        capture_output=True, text=True, cwd=project, env=env, timeout=120, check=False,
    )
    if leak == "none":
        assert result.returncode == 0, result.stdout
        return
    assert result.returncode == 1, result.stdout
    assert "left files in the real AOS home" in result.stdout and ": cache/leak.json;" in result.stdout
    assert not real.exists() if leak == "default" else (real / "cache" / "leak.json").exists()
