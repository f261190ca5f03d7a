"""Real MCP peers for tests/mcp: mcp-server-git on a throwaway repository, mcp-server-time, and
tests/mcp/peer_server.py (which logs every start and call), all over stdio, started through small
wrapper scripts so a test can take a server away."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from aos_core import Runtime

BIN = Path(sys.executable).parent
PEER = Path(__file__).resolve().parents[1] / "mcp" / "peer_server.py"


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", *args],
        cwd=repo, capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout


PEER_TOKEN = "token-canary-9b7c3a"  # the peer's secret (its env names ${secrets.PEER_TOKEN})
LITERAL_CANARY = "literal-canary-5e1d"  # a literal env value: a secret too


def wrapper(directory: Path, name: str, command: list[str]) -> Path:
    """An executable script that runs `command` (delete it and the server is gone)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    quoted = " ".join(f"'{part}'" for part in command)
    path.write_text(f'#!/bin/sh\nexec {quoted} "$@"\n')
    path.chmod(0o755)
    return path


def peers_table(root: Path, repo: Path, log: Path) -> dict[str, Any]:
    """A `[plugins.mcp]` table with the three stdio peers, their wrappers under `root/bin`."""
    bins = root / "bin"
    return {
        "cache": str(root / "tools.json"),
        "servers": {
            "git": {
                "command": str(wrapper(bins, "git-server", [str(BIN / "mcp-server-git")])),
                "args": ["--repository", str(repo)],
                "trusted": True,
                "tools": {"git_commit": {"price": "0.01"}},
            },
            "time": {"command": str(BIN / "mcp-server-time"), "args": ["--local-timezone", "UTC"]},
            "peer": {
                "command": str(wrapper(bins, "peer-server", [sys.executable, str(PEER), "--log", str(log)])),
                "trusted": True,
                "price": "0.002",
                "env": {"PEER_TOKEN": "${secrets.PEER_TOKEN}", "PEER_LITERAL": LITERAL_CANARY},
                "tools": {"slow": {"timeout_ms": 500}},
            },
        },
    }


def refresh_table(table: dict[str, Any]) -> list[dict[str, Any]]:
    """`aos mcp refresh` from Python, with the peer's secret in the environment as an operator would."""
    from aos_skill_mcp import parse_config
    from aos_skill_mcp.refresh import refresh

    before = os.environ.get("PEER_TOKEN")
    os.environ["PEER_TOKEN"] = PEER_TOKEN
    try:
        return asyncio.run(refresh(parse_config(table)))
    finally:
        if before is None:
            del os.environ["PEER_TOKEN"]
        else:
            os.environ["PEER_TOKEN"] = before


def new_repo(path: Path) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    (path / "a.txt").write_text("one\n")
    git(path, "add", "a.txt")
    git(path, "commit", "-q", "-m", "first")
    return path


class Peers:
    """The module's peers: the config table, the repository and the peer's log."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.repo = new_repo(root / "repo")
        self.log = root / "peer.log"
        self.table = peers_table(root, self.repo, self.log)

    def log_lines(self, prefix: str = "") -> list[str]:
        lines = self.log.read_text("utf-8").splitlines() if self.log.exists() else []
        return [line for line in lines if line.startswith(prefix)]

    def runtime(self, **options: Any) -> Runtime:
        secrets = options.pop("secrets", {"PEER_TOKEN": PEER_TOKEN})
        return Runtime(config={"plugins": {"mcp": self.table}}, seed=7, secrets=secrets, **options)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[Any], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def toml_text(data: dict[str, Any], prefix: str = "") -> str:
    """Just enough TOML for a configuration of strings, booleans, numbers and lists."""
    scalars, tables = [], []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append(toml_text(value, f"{prefix}{key}."))
        else:
            scalars.append(f"{key} = {json.dumps(value)}")
    head = f"[{prefix[:-1]}]\n" if prefix and scalars else ""
    return head + "".join(f"{line}\n" for line in scalars) + "".join(tables)
