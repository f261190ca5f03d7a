"""Fixtures of the server tests: a server shared by a module, or a test's own (see serverproc.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serverproc import ServerProcess


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for a module's tests that need no restart (2 workers)."""
    server = ServerProcess(tmp_path_factory.mktemp("server"), "--workers", "2").start()
    try:
        yield server
    finally:
        server.kill()


@pytest.fixture
def new_server(tmp_path: Path) -> Iterator[Any]:
    """`new_server(*args)`: a server of the test's own (stopped at the end, whatever happened)."""
    made: list[ServerProcess] = []

    def make(*args: str) -> ServerProcess:
        server = ServerProcess(tmp_path / f"home{len(made)}", *args)
        made.append(server)
        return server

    try:
        yield make
    finally:
        for server in made:
            server.kill()
