"""A run store that cannot be used is one line naming it and what to do, with a usage exit code;
reading commands still work on a store that can only be read (issue 20, "bad state")."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from aos_core import Runtime, StoreError
from aos_core.runs.sqlite import SQLiteRunStore
from aos_core.testing import FakePlugin, fake_skill

ROOT_CAN_WRITE_ANYWHERE = os.geteuid() == 0


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make `paths` unwritable, for root too (the immutable attribute; chattr), then restore them."""
    if ROOT_CAN_WRITE_ANYWHERE:
        if shutil.which("chattr") is None:
            pytest.skip("root ignores file modes and chattr is not installed")
        for path in paths:
            subprocess.run(["chattr", "+i", str(path)], check=True)
        try:
            yield
        finally:
            for path in paths:
                subprocess.run(["chattr", "-i", str(path)], check=True)
        return
    modes = {path: path.stat().st_mode for path in paths}
    for path in paths:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def aos(*args: str, home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AOS_HOME": str(home), "AOS_NO_CACHE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "aos_core", *args], capture_output=True, text=True, env=env, timeout=timeout, check=False
    )


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]


def test_a_file_that_is_not_sqlite(tmp_path: Path) -> None:
    store = tmp_path / "runs.sqlite3"
    store.write_text("these are my notes, not a database\n" * 100)
    one_line_error(aos("runs", "--store", str(store), home=tmp_path), str(store), "not a readable AOS run store")


def test_a_truncated_database(tmp_path: Path) -> None:
    store = tmp_path / "runs.sqlite3"
    with Runtime(plugins=[FakePlugin(skills=[fake_skill("echo")])], entry_points=False, store=store) as runtime:
        runtime.run({"steps": [{"id": "a", "skill": "echo"}]})
    data = store.read_bytes()
    store.write_bytes(data[: len(data) // 3])
    for name in ("runs.sqlite3-wal", "runs.sqlite3-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    result = aos("runs", "--store", str(store), home=tmp_path)
    one_line_error(result, str(store))


def test_a_store_path_that_is_a_device(tmp_path: Path) -> None:
    one_line_error(aos("runs", "--store", "/dev/null", home=tmp_path), "/dev/null")


def test_aos_home_that_is_a_file(tmp_path: Path) -> None:
    home = tmp_path / "home-file"
    home.write_text("not a directory")
    one_line_error(aos("runs", home=home), str(home), "AOS_HOME")


def test_reading_commands_work_on_a_read_only_store_and_writing_ones_say_why_not(tmp_path: Path) -> None:
    home = tmp_path / "home"
    store = home / "runs.sqlite3"
    with Runtime(plugins=[FakePlugin(skills=[fake_skill("echo")])], entry_points=False, store=store) as runtime:
        run_id = runtime.run({"steps": [{"id": "a", "skill": "echo"}]}).run_id
    plan = tmp_path / "plan.json"
    plan.write_text('{"steps": [{"id": "a", "skill": "json_transform", "params": {"expression": "a", "data": {}}}]}')
    with read_only(store, home):
        listed = aos("runs", "--json", home=home)
        assert listed.returncode == 0 and run_id in listed.stdout, listed.stderr
        shown = aos("show", run_id, "--json", home=home)
        assert shown.returncode == 0, shown.stderr
        one_line_error(aos("run", str(plan), home=home), str(store), "read-only")


def test_an_unwritable_place_for_a_new_store_is_one_clear_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only(locked), pytest.raises(StoreError, match="is not writable"):
        SQLiteRunStore(locked / "runs.sqlite3")


def test_a_store_locked_by_another_process_is_a_short_wait_then_one_line(tmp_path: Path) -> None:
    store = tmp_path / "runs.sqlite3"
    SQLiteRunStore(store).close()
    plan = tmp_path / "plan.json"
    plan.write_text('{"steps": [{"id": "a", "skill": "json_transform", "params": {"expression": "a", "data": {}}}]}')
    holder = sqlite3.connect(store, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # in WAL mode readers go on; a writer waits, then gives up
    try:
        result = aos("run", str(plan), "--store", str(store), home=tmp_path, timeout=30)
        one_line_error(result, str(store), "locked by another process")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
