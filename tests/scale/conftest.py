"""Fixtures of the scale tests: a cluster of `aos worker` processes on PostgreSQL (see cluster.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster import Cluster
from postgres import require_postgres


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Any]:
    """`cluster(*worker_args)`: a store of the test's own and its workers (stopped at the end)."""
    require_postgres()
    made: list[Cluster] = []

    def make(*worker_args: str) -> Cluster:
        made.append(Cluster(tmp_path / f"home{len(made)}", *worker_args))
        return made[-1]

    try:
        yield make
    finally:
        for one in made:
            one.close()
