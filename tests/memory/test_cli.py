"""`aos memory`: JSON in and out, one line on stderr for failures, exit codes by category."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from aos_core.cli import cli


def aos(*args: str, input: str | None = None) -> Any:
    return CliRunner().invoke(cli, ["memory", *args], input=input, catch_exceptions=False)


@pytest.fixture
def url(store_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every command below uses the test's store through AOS_MEMORY (both backends)."""
    monkeypatch.setenv("AOS_MEMORY", store_url)
    return store_url


def test_put_get_search_ls_delete_round_trip(url: str, tmp_path: Path) -> None:
    value = tmp_path / "v.json"
    value.write_text('{"text": "buy oat milk", "kind": "todo"}')
    put = aos("put", "notes/u1", "shopping", f"@{value}", "--json")
    assert put.exit_code == 0, put.output
    assert json.loads(put.stdout)["item"]["namespace"] == ["notes", "u1"]
    assert aos("put", '["notes", "u2"]', "call", "-", input='"call mum"').exit_code == 0

    got = json.loads(aos("get", "notes/u1", "shopping", "--json").stdout)
    assert got["item"]["value"] == {"text": "buy oat milk", "kind": "todo"}
    assert json.loads(aos("get", "notes/u1", "shopping").stdout) == {"text": "buy oat milk", "kind": "todo"}

    hits = json.loads(aos("search", "notes", "-q", "milk", "--json").stdout)["hits"]
    assert [(h["namespace"], h["key"]) for h in hits] == [(["notes", "u1"], "shopping")]
    filtered = json.loads(aos("search", "--filter", '{"kind": "todo"}', "--json").stdout)["hits"]
    assert [h["key"] for h in filtered] == ["shopping"]
    text = aos("search", "notes").stdout
    assert text.splitlines()[0].split() == ["NAMESPACE", "KEY", "SCORE", "VALUE"] and "call mum" in text

    assert json.loads(aos("ls", "--json").stdout)["namespaces"] == [["notes", "u1"], ["notes", "u2"]]
    assert aos("ls", "--max-depth", "1").stdout == "notes\n"

    assert json.loads(aos("delete", "notes/u1", "shopping", "--json").stdout) == {"ok": True, "deleted": True}
    assert json.loads(aos("delete", "notes/u1", "shopping", "--json").stdout) == {"ok": True, "deleted": False}
    missing = aos("get", "notes/u1", "shopping", "--json")
    assert missing.exit_code == 0 and json.loads(missing.stdout) == {"ok": True, "item": None}


def test_semantic_search_from_the_shell(url: str) -> None:
    for key, text in [("dogs", "dogs running in a park"), ("tax", "quarterly tax forms")]:
        assert aos("put", "docs", key, json.dumps(text), "--embedder", "hashing").exit_code == 0
    hits = json.loads(aos("search", "docs", "-q", "a dog runs", "--embedder", "hashing", "--json").stdout)["hits"]
    assert hits[0]["key"] == "dogs"


@pytest.mark.usefixtures("url")
@pytest.mark.parametrize(
    ("args", "exit_code", "stderr"),
    [
        (["put", "n", "k", "{bad json"], 2, "VALUE (inline) is not valid JSON"),
        (["search", "--filter", "[1,"], 2, "--filter (inline) is not valid JSON"),
        (["put", "n", "k", "1", "--ttl", "-5"], 3, "aos: INVALID_INPUT: ttl is in seconds and must be a positive number"),
        (["put", "n//x", "k", "1"], 3, "aos: INVALID_INPUT: namespace label must be a non-empty string"),
        (["search", "--limit", "0"], 3, "aos: INVALID_INPUT: limit must be an integer >= 1"),
        (["get", "n", "k", "--embedder", "nope"], 3, "aos: INVALID_INPUT: no embedder 'nope'"),
    ],
)
def test_failures_exit_with_their_category(args: list[str], exit_code: int, stderr: str) -> None:
    result = aos(*args)
    assert result.exit_code == exit_code
    assert stderr in result.stderr


def test_a_failure_with_json_prints_the_error_on_stdout(url: str) -> None:
    result = aos("put", "n", "k", '{"x": NaN}', "--json")
    assert result.exit_code == 3
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "INVALID_INPUT" and error["category"] == "VALIDATION"
    assert result.stderr.count("\n") == 1


def test_an_unreachable_store_is_transient(monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("psycopg")
    result = aos("ls", "--memory", "postgresql://nobody@127.0.0.1:9/none", "--json")
    assert result.exit_code == 6
    assert json.loads(result.stdout)["error"]["code"] == "CONNECTION_FAILED"
    assert "aos: CONNECTION_FAILED: PostgreSQL at 127.0.0.1:9/none failed" in result.stderr


def test_an_unknown_scheme_names_the_known_ones() -> None:
    result = aos("ls", "--memory", "redis://x")
    assert result.exit_code == 3
    assert "no memory backend for redis:// (known: postgres://, postgresql://, sqlite://)" in result.stderr


def test_arguments_that_are_not_utf8_are_invalid_input_not_an_internal_error(tmp_path: Path) -> None:
    """A real process: argv bytes that are not UTF-8 reach Python as lone surrogates."""
    env = {**os.environ, "AOS_HOME": str(tmp_path), "AOS_MEMORY": str(tmp_path / "m.sqlite3")}
    for args in ([b"put", b"ns", b"k\xff", b"1"], [b"put", b"n\xffs", b"k", b"1"], [b"get", b"ns", b"k\xff"]):
        command = [sys.executable, "-m", "aos_core", b"memory", *args]
        done = subprocess.run(command, check=False, env=env, capture_output=True, timeout=60)
        stderr = done.stderr.decode("utf-8")
        assert done.returncode == 3, stderr
        assert stderr.startswith("aos: INVALID_INPUT: ") and "holds a lone surrogate" in stderr, stderr
        assert len(stderr.strip().splitlines()) == 1 and "Traceback" not in stderr


@pytest.mark.usefixtures("url")
def test_a_ttl_past_any_date_is_invalid_input() -> None:
    result = aos("put", "n", "k", "1", "--ttl", "1e300")
    assert result.exit_code == 3, result.output
    assert "aos: INVALID_INPUT: ttl is 1e+300 seconds; the most is 3153600000 (100 years)" in result.stderr


def test_namespaces_print_as_text_that_reads_back_as_the_same_namespace(url: str) -> None:
    """`["a/b", "c"]` and `a/b/c` are two namespaces: `ls` and `search` print them apart, each as
    text that NAMESPACE takes back (labels joined by `/`, or the JSON array when that would not do)."""
    for namespace in ('["a/b", "c"]', "a/b/c", '["[y"]'):
        assert aos("put", namespace, "k", "1").exit_code == 0
    shown = aos("ls").stdout.splitlines()
    assert sorted(shown) == sorted(['["[y"]', '["a/b","c"]', "a/b/c"])
    for text in shown:  # each printed namespace names the item put there
        assert json.loads(aos("get", text, "k").stdout) == 1
    rows = [line.split()[0] for line in aos("search").stdout.splitlines()[1:]]
    assert sorted(rows) == sorted(shown)
