"""Fixtures for tests/mcp: the real peers (tests/support/mcp_peers.py), refreshed once per module."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

if os.environ.get("CI"):
    import mcp  # noqa: F401 - CI installs the MCP SDK and the peers (scripts/check): missing is a failure
else:
    pytest.importorskip("mcp", reason="pip install -e ./aos_skill_mcp mcp-server-git mcp-server-time")

from mcp_peers import PEER, Peers, free_port, refresh_table, wait_for_port


@pytest.fixture(scope="module")
def peers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peers]:
    found = Peers(tmp_path_factory.mktemp("mcp-peers"))
    reports = refresh_table(found.table)
    assert [r["ok"] for r in reports] == [True, True, True], reports
    yield found


@pytest.fixture
def http_peer(tmp_path: Path) -> Iterator[Callable[[], tuple[str, Path]]]:
    """Starts the peer over streamable HTTP on 127.0.0.1: (its URL, its log); stopped after the test."""
    started: list[subprocess.Popen[Any]] = []

    def start() -> tuple[str, Path]:
        port, log = free_port(), tmp_path / "http-peer.log"
        process = subprocess.Popen(
            [sys.executable, str(PEER), "--log", str(log), "--http", str(port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started.append(process)
        wait_for_port(port, process)
        return f"http://127.0.0.1:{port}/mcp", log

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=10)
