"""The broken distribution (tests/install/broken_dist) installed once for every test of this folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="package")
def broken_dist(throwaway_venv: Any) -> Iterator[Any]:
    """aos-broken-plugins pip-installed into the throwaway venv (one install for the folder), removed after."""
    installed = throwaway_venv.pip_install(ROOT / "tests" / "install" / "broken_dist")
    assert installed.returncode == 0, installed.stderr
    try:
        yield throwaway_venv
    finally:
        throwaway_venv.pip_uninstall("aos-broken-plugins")
