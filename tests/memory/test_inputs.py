"""Bad input is a clear error before anything is stored: `MemoryInputError`, code INVALID_INPUT."""

from __future__ import annotations

import math
from typing import Any

import pytest

from aos_core import SkillError
from aos_core.contracts.errors import ErrorCode
from aos_core.memory import Memory, MemoryInputError, memory_from_url

BAD_PUTS: list[tuple[Any, Any, Any, dict[str, Any], str]] = [
    ("users", "k", 1, {}, "namespace must be a tuple of strings"),
    ((), "k", 1, {}, "namespace must have at least one label"),
    (("a", ""), "k", 1, {}, "namespace label must be a non-empty string, got ''"),
    (("a", 3), "k", 1, {}, "namespace label must be a non-empty string, got 3"),
    (("a\x1fb",), "k", 1, {}, "contains a control character"),
    (("a",), "", 1, {}, "key must be a non-empty string"),
    (("a",), "x" * 1025, 1, {}, "key is 1025 characters long; the limit is 1024"),
    (("a",), "k", {"x": math.nan}, {}, "value.x is nan; JSON has no NaN or infinity"),
    (("a",), "k", {1: "x"}, {}, "value has the key 1; keys are strings without U+0000"),
    (("a",), "k", (1, 2), {}, "value is a tuple, not a JSON value; use a list"),
    (("a",), "k", {"s": {1, 2}}, {}, "value.s is a set, not a JSON value"),
    (("a",), "k", "nul\x00here", {}, "contains U+0000 (NUL)"),
    (("a",), "k", 1, {"ttl": 0}, "ttl is in seconds and must be a positive number, got 0"),
    (("a",), "k", 1, {"ttl": True}, "ttl is in seconds"),
    (("a",), "k", 1, {"ttl": 1e300}, "ttl is 1e+300 seconds; the most is 3153600000 (100 years)"),
    (("a",), "k", 1, {"ttl": 10**30}, "the most is 3153600000 (100 years): leave ttl out"),
    # lone surrogates: what Python makes of bytes that are not UTF-8 (argv, surrogateescape, "\\ud800")
    (("a\udcff",), "k", 1, {}, "namespace label 'a\\udcff' holds a lone surrogate"),
    (("a",), "k\udcff", 1, {}, "key 'k\\udcff' holds a lone surrogate"),
    (("a",), "k", {"t": ["ok", "\ud800"]}, {}, "value.t[1] holds a lone surrogate"),
    (("a",), "k", {"\ud800": 1}, {}, "value has the key '\\ud800', which holds a lone surrogate"),
]


@pytest.mark.parametrize(("namespace", "key", "value", "extra", "message"), BAD_PUTS, ids=[m for *_, m in BAD_PUTS])
def test_bad_puts_are_refused_with_a_message(
    memory: Memory, namespace: Any, key: Any, value: Any, extra: dict[str, Any], message: str
) -> None:
    with pytest.raises(MemoryInputError, match=None) as caught:
        memory.put(namespace, key, value, **extra)
    assert message in str(caught.value)
    assert caught.value.code == ErrorCode.INVALID_INPUT
    assert memory.search(()) == []


BAD_SEARCHES: list[tuple[dict[str, Any], str]] = [
    ({"namespace_prefix": "users"}, "namespace prefix must be a tuple of strings"),
    ({"query": 5}, "query must be a string"),
    ({"query": " ".join(f"w{i}" for i in range(65))}, "query has 65 distinct words; the limit is 64"),
    ({"filter": ["kind"]}, "filter must be an object"),
    ({"filter": {"tags": ["a"]}}, "filter 'tags' is list"),
    ({"filter": {"": 1}}, "filter field names are non-empty strings"),
    ({"limit": 0}, "limit must be an integer >= 1, got 0"),
    ({"limit": 1001}, "limit is 1001; the most one call returns is 1000"),
    ({"offset": -1}, "offset must be an integer >= 0, got -1"),
    ({"filter": {"kind": "\udcff"}}, "filter 'kind': '\\udcff' holds a lone surrogate"),
    ({"namespace_prefix": ("\udcff",)}, "namespace prefix label '\\udcff' holds a lone surrogate"),
]


@pytest.mark.parametrize(("arguments", "message"), BAD_SEARCHES, ids=[m for _, m in BAD_SEARCHES])
def test_bad_searches_are_refused_with_a_message(memory: Memory, arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(MemoryInputError) as caught:
        memory.search(**arguments)
    assert message in str(caught.value)


def test_bad_list_namespaces_arguments(memory: Memory) -> None:
    with pytest.raises(MemoryInputError, match="max_depth must be an integer >= 1"):
        memory.list_namespaces(max_depth=0)


def test_memory_errors_are_skill_errors_so_a_skill_fails_with_their_code() -> None:
    """A skill that lets a memory error escape fails with INVALID_INPUT, not SKILL_CRASHED."""
    assert issubclass(MemoryInputError, SkillError) and issubclass(MemoryInputError, ValueError)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("redis://localhost", "no memory backend for redis://"),
        ("sqlite://", "names no file"),
        ("postgresql://host/db?schema=Bad-Name", "schema 'Bad-Name' in the memory URL is not a plain lower-case name"),
        ("   ", "the memory URL must be a non-empty string"),
        ("postgresql://host/db?bogus_option=1", "the PostgreSQL URL is malformed"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    from aos_core.execution.clock import VirtualClock

    if url.startswith("postgresql"):
        pytest.importorskip("psycopg")
    with pytest.raises(MemoryInputError) as caught:
        memory_from_url(url, clock=VirtualClock())
    assert message in str(caught.value)


def test_a_file_that_is_not_a_store_is_named(tmp_path: Any) -> None:
    from aos_core.execution.clock import VirtualClock

    bogus = tmp_path / "notes.txt"
    bogus.write_text("just some text, not SQLite " * 100)
    with pytest.raises(MemoryInputError, match=r"notes.txt is not a memory store"):
        memory_from_url(str(bogus), clock=VirtualClock())


def test_a_directory_gets_memory_sqlite3_inside(tmp_path: Any) -> None:
    from aos_core.execution.clock import VirtualClock

    with memory_from_url(str(tmp_path), clock=VirtualClock()) as memory:
        memory.put(("a",), "k", 1)
    assert (tmp_path / "memory.sqlite3").exists()


def test_the_default_store_is_memory_sqlite3_in_aos_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    from aos_core.execution.clock import VirtualClock
    from aos_core.memory import default_memory_url

    monkeypatch.setenv("AOS_HOME", str(tmp_path))
    monkeypatch.delenv("AOS_MEMORY", raising=False)
    assert default_memory_url() == str(tmp_path / "memory.sqlite3")
    with memory_from_url(clock=VirtualClock()) as memory:
        memory.put(("a",), "k", 1)
    assert (tmp_path / "memory.sqlite3").exists()
    monkeypatch.setenv("AOS_MEMORY", f"sqlite://{tmp_path / 'other.db'}")
    assert default_memory_url() == f"sqlite://{tmp_path / 'other.db'}"


def test_a_naive_clock_is_refused(tmp_path: Any) -> None:
    from datetime import datetime

    class Naive:
        def now(self) -> datetime:
            return datetime(2026, 1, 1)

        def monotonic(self) -> float:
            return 0.0

    with memory_from_url(str(tmp_path), clock=Naive()) as memory, pytest.raises(MemoryInputError, match="naive"):
        memory.put(("a",), "k", 1)
