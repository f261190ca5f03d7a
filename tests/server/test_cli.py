"""`aos keys` and `aos serve` on the command line: added by the aos-server plugin, shown once,
one-line errors, and no web framework imported unless serving."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def aos(home: Path, *args: str, **extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AOS_HOME": str(home), **extra_env}
    return subprocess.run(
        [sys.executable, "-m", "aos_core", *args], capture_output=True, text=True, env=env, timeout=120, check=False
    )


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def test_aos_help_lists_serve_and_keys_from_the_server_plugin(home: Path) -> None:
    shown = aos(home, "--help")
    assert shown.returncode == 0
    _, _, added = shown.stdout.partition("Commands added by plugins:")
    assert "keys" in added and "serve" in added and "[plugin server]" in added


def test_a_key_is_shown_once_and_only_its_hash_is_stored(home: Path) -> None:
    made = aos(home, "keys", "create", "ci-bot", "--scope", "read", "--json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)
    assert key["name"] == "ci-bot" and key["scope"] == "read" and key["secret"].startswith("aos_")
    listed = aos(home, "keys", "list", "--json")
    assert [k["name"] for k in json.loads(listed.stdout)["keys"]] == ["ci-bot"]
    assert key["secret"] not in listed.stdout and "secret" not in json.loads(listed.stdout)["keys"][0]
    secret_part = key["secret"].split("_", 2)[2].encode()
    assert all(secret_part not in p.read_bytes() for p in home.glob("runs.sqlite3*"))
    text = aos(home, "keys", "create", "ops", "--scope", "admin")
    assert text.returncode == 0 and "shown this once" in text.stdout
    assert "ops" in aos(home, "keys", "list").stdout


def test_a_key_with_a_contract_gets_its_own_budget_id(home: Path, tmp_path: Path) -> None:
    contract = tmp_path / "contract.json"
    contract.write_text(json.dumps({"max_calls": 5, "max_money": "1.50"}))
    made = json.loads(aos(home, "keys", "create", "tenant", "--contract", str(contract), "--json").stdout)
    assert made["contract"]["id"] == "key:tenant" and made["contract"]["max_calls"] == 5
    contract.write_text(json.dumps({"id": "someone-else", "max_calls": 5}))
    refused = aos(home, "keys", "create", "tenant2", "--contract", str(contract))
    assert refused.returncode == 2 and refused.stderr.startswith("aos: a key's contract is named 'key:tenant2'")
    contract.write_text('{"max_calls": -1}')
    bad = aos(home, "keys", "create", "tenant3", "--contract", str(contract))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "Traceback" not in bad.stderr


def test_revoking_is_final_and_a_name_is_never_reused(home: Path) -> None:
    assert aos(home, "keys", "create", "temp").returncode == 0
    assert aos(home, "keys", "revoke", "temp").stdout.strip() == "key temp revoked"
    again = aos(home, "keys", "revoke", "temp")
    assert again.returncode == 2 and again.stderr.strip() == "aos: key 'temp' was already revoked"
    reused = aos(home, "keys", "create", "temp")
    assert reused.returncode == 2 and "names are never reused" in reused.stderr
    missing = aos(home, "keys", "revoke", "nobody")
    assert missing.returncode == 2 and "no key named 'nobody'" in missing.stderr
    assert "revoked" in aos(home, "keys", "list").stdout


def test_a_bad_key_name_is_a_one_line_usage_error(home: Path) -> None:
    result = aos(home, "keys", "create", "no spaces please")
    assert result.returncode == 2 and result.stderr.startswith("aos: key name 'no spaces please'")


def test_serve_refuses_a_store_it_cannot_use_in_one_line(home: Path) -> None:
    result = aos(home, "serve", "--store", "mysql://localhost/aos")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "aos: store mysql://...: give a path, sqlite:///PATH or postgresql://..."
    ]
    result = aos(home, "serve", "--store", "postgresql://localhost/aos")  # workers execute, not aos serve
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "aos: with a postgresql:// store, aos serve only accepts and answers: give --workers 0 and start "
        "'aos worker --store URL' processes (on this machine or others) to execute runs"
    ]
    result = aos(home, "worker", "--store", str(home / "runs.sqlite3"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "aos: aos worker needs a shared postgresql:// store (--store or AOS_STORE); with SQLite use aos serve"
    ]


def test_serve_with_a_metrics_directory_it_cannot_use_says_so_in_one_line(home: Path, tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    where = str(tmp_path / "a-file" / "metrics")
    result = aos(home, "serve", "--port", "0", "--workers", "0", PROMETHEUS_MULTIPROC_DIR=where)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"aos: cannot keep metrics in {where}: Not a directory; give PROMETHEUS_MULTIPROC_DIR a writable "
        "directory, or --no-metrics"
    ]


def test_managing_keys_imports_no_web_framework(home: Path) -> None:
    probe = (
        "import sys, json\n"
        "from aos_core.cli import cli\n"
        "try:\n    cli.main(args=sys.argv[1:], prog_name='aos')\n"
        "except SystemExit:\n    pass\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette'))),"
        " file=sys.stderr)\n"
    )
    env = {**os.environ, "AOS_HOME": str(home)}
    for args in (["keys", "list"], ["keys", "create", "probe", "--json"], ["serve", "--help"]):
        result = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        assert json.loads(result.stderr.strip().splitlines()[-1]) == [], args


def test_a_keys_failure_with_json_is_one_error_object_on_stdout(home: Path) -> None:
    refused = aos(home, "keys", "revoke", "nobody", "--json")
    assert refused.returncode == 2 and refused.stderr == "aos: no key named 'nobody'; 'aos keys list' shows them\n"
    assert json.loads(refused.stdout)["error"]["code"] == "USAGE_ERROR"
