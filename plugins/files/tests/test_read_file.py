"""Tests of aos-plugin-files, written as its author would: aos-core's fixtures and contract test-kit."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from aos_core.testing import check_plugin, check_skill_contract

PLUGIN = "aos_plugin_files.plugin"  # the entry point's value


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The allowed directory, with a few files, and a secret beside it (outside)."""
    allowed = tmp_path / "allowed"
    (allowed / "notes").mkdir(parents=True)
    (allowed / "hello.txt").write_text("hello, plugin\n", "utf-8")
    (allowed / "notes" / "todo.md").write_text("- write tests\n", "utf-8")
    (allowed / "latin1.txt").write_bytes("café".encode("latin-1"))
    (allowed / "big.txt").write_text("x" * 2048, "utf-8")
    (tmp_path / "secret.txt").write_text("do not read\n", "utf-8")
    (allowed / "escape").symlink_to(tmp_path / "secret.txt")
    return allowed


@pytest.fixture
def read(aos_runtime_factory: Any, root: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`read(params)` -> the outcome of read_file with `root` configured."""
    monkeypatch.delenv("AOS_FILES_ROOT", raising=False)
    runtime = aos_runtime_factory(PLUGIN, config={"skills": {"read_file": {"root": str(root)}}})
    return lambda params: runtime.execute("read_file", params)


def test_the_plugin_loads_with_its_skill_and_classifier() -> None:
    report = check_plugin(PLUGIN)
    assert (report.skills, report.classifiers) == (("read_file",), ("files",))


def test_reads_a_file_under_the_allowed_directory(read: Any) -> None:
    outcome = read({"path": "notes/todo.md"})
    assert outcome.ok, outcome.error
    data = b"- write tests\n"
    assert outcome.output == {
        "path": "notes/todo.md",
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "text": "- write tests\n",
    }


@pytest.mark.parametrize("path", ["../secret.txt", "notes/../../secret.txt", "/etc/passwd", "escape"])
def test_a_path_outside_the_allowed_directory_is_refused(read: Any, path: str) -> None:
    """`..`, absolute paths and symlinks that resolve outside: POLICY_VIOLATION, nothing read."""
    outcome = read({"path": path})
    assert (outcome.error.code, outcome.error.category) == ("POLICY_VIOLATION", "PERMISSION")
    assert outcome.error.details["rule"] == "read_file.root"


def test_a_missing_file_is_invalid_input_thanks_to_the_classifier(read: Any) -> None:
    outcome = read({"path": "nope.txt"})
    assert outcome.error.code == "INVALID_INPUT"
    assert outcome.error.details["classifier"] == "files"
    assert "no such file" in outcome.error.message


def test_without_the_classifier_a_missing_file_would_be_a_crash(aos_runtime_factory: Any, root: Path) -> None:
    """Why the classifier exists: the skill alone lets FileNotFoundError escape."""
    from aos_core.testing import FakePlugin
    from aos_plugin_files import ReadFile

    config = {"skills": {"read_file": {"root": str(root)}}}
    runtime = aos_runtime_factory(FakePlugin(skills=[ReadFile()]), config=config)
    assert runtime.execute("read_file", {"path": "nope.txt"}).error.code == "SKILL_CRASHED"


def test_a_directory_or_undecodable_text_is_invalid_input(read: Any) -> None:
    assert read({"path": "notes"}).error.code == "INVALID_INPUT"
    assert read({"path": "latin1.txt"}).error.code == "INVALID_INPUT"
    assert read({"path": "latin1.txt", "encoding": "latin-1"}).output["text"] == "café"
    assert read({"path": "hello.txt", "encoding": "no-such-codec"}).error.code == "INVALID_INPUT"


def test_a_file_over_max_bytes_is_refused_before_it_is_read(read: Any) -> None:
    outcome = read({"path": "big.txt", "max_bytes": 1024})
    assert outcome.error.code == "OUTPUT_VALIDATION_FAILED"
    assert outcome.error.details == {"size": 2048, "max_bytes": 1024}
    assert read({"path": "big.txt", "max_bytes": 4096}).ok


def test_with_no_allowed_directory_nothing_is_readable(
    aos_runtime_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AOS_FILES_ROOT", raising=False)
    outcome = aos_runtime_factory(PLUGIN).execute("read_file", {"path": "hello.txt"})
    assert (outcome.error.code, outcome.error.category) == ("PERMISSION_DENIED", "PERMISSION")
    assert "AOS_FILES_ROOT" in outcome.error.message


def test_the_environment_can_name_the_allowed_directory(
    aos_runtime_factory: Any, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AOS_FILES_ROOT", str(root))
    assert aos_runtime_factory(PLUGIN).execute("read_file", {"path": "hello.txt"}).output["text"] == "hello, plugin\n"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_a_file_the_os_refuses_is_permission_denied(read: Any, root: Path) -> None:
    locked = root / "locked.txt"
    locked.write_text("x")
    locked.chmod(0)
    assert read({"path": "locked.txt"}).error.code == "PERMISSION_DENIED"


def test_the_skill_keeps_its_contract(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Generated paths (real files, escapes, nonsense) give ok or a declared code, never a crash."""
    monkeypatch.delenv("AOS_FILES_ROOT", raising=False)
    names = ["hello.txt", "notes/todo.md", "latin1.txt", "big.txt", "notes", "escape", "../secret.txt", "missing"]
    inputs = st.fixed_dictionaries(
        {"path": st.one_of(st.sampled_from(names), st.text(min_size=1, max_size=12))},
        optional={"max_bytes": st.integers(1, 4096), "encoding": st.sampled_from(["utf-8", "latin-1", "ascii", "x"])},
    )
    report = check_skill_contract(
        PLUGIN, inputs=inputs, max_examples=60, config={"skills": {"read_file": {"root": str(root)}}}
    )
    seen = report.skills["read_file"].outcomes
    assert seen["ok"] and seen["POLICY_VIOLATION"] and seen["INVALID_INPUT"]
    assert "SKILL_CRASHED" not in seen


def test_a_path_with_a_nul_byte_is_refused_by_the_schema(read: Any) -> None:
    """Found by check_skill_contract: such a path used to crash the skill (ValueError from the OS layer)."""
    assert read({"path": "hello.txt\x00.png"}).error.code == "SCHEMA_VALIDATION_FAILED"
