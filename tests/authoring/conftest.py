"""Fixtures of the authoring tests: docs/plugins.md read as data (its blocks, example files, steps)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest
from fenced_blocks import Fenced, fenced_blocks

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"


Block = Fenced


def blocks(path: Path = GUIDE) -> list[Block]:
    return fenced_blocks(path)


def example_files() -> dict[str, str]:
    """Relative path -> text of every block marked `file=PATH`."""
    return {path: b.text for b in blocks() if (path := b.option("file"))}


def write_example(target: Path) -> Path:
    """Write the guide's example distribution under `target`; returns the distribution's folder."""
    for relative, text in example_files().items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, "utf-8")
    return target / "aos-skill-temperature"


@dataclass(frozen=True)
class Step:
    """A `$ command` of a `console steps` block, and the exit status its comment promises."""

    argv: tuple[str, ...]
    exit: int


def steps() -> list[Step]:
    found = []
    for block in blocks():
        if block.lang != "console" or "steps" not in block.options:
            continue
        for line in block.text.splitlines():
            if line.startswith("$ "):
                command, _, comment = line[2:].partition("  # ")
                wanted = re.search(r"exit (\d+)", comment)
                found.append(Step(tuple(shlex.split(command)), int(wanted[1]) if wanted else 0))
    return found


class Guide:
    """docs/plugins.md as data, for the tests."""

    path = GUIDE
    blocks = staticmethod(blocks)
    example_files = staticmethod(example_files)
    write_example = staticmethod(write_example)
    steps = staticmethod(steps)

    @property
    def text(self) -> str:
        return GUIDE.read_text("utf-8")


@pytest.fixture(scope="session")
def guide() -> Guide:
    """docs/plugins.md: `guide.blocks()`, `guide.example_files()`, `guide.write_example(dir)`, `guide.steps()`."""
    return Guide()
