"""Fixtures for aos-skill-json: a runtime with only the json plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import aos_skill_json.plugin
from aos_core import Runtime


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    """One runtime per module (json_transform is pure: tests cannot disturb each other)."""
    with Runtime(entry_points=False, plugins=[aos_skill_json.plugin]) as rt:
        yield rt
