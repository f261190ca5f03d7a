"""Fixtures of the authoring tests: docs/plugins.md read as data (its blocks, example files, steps)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
FENCE = re.compile(r"^(?P<fence>`{3,})(?P<lang>[\w+-]*)(?P<options>.*)$")


@dataclass(frozen=True)
class Block:
    """One fenced block: its language, the words after it, its text and where it starts."""

    lang: str
    options: tuple[str, ...]
    text: str
    line: int

    def option(self, key: str) -> str | None:
        return next((o.split("=", 1)[1] for o in self.options if o.startswith(f"{key}=")), None)


def blocks(path: Path = GUIDE) -> list[Block]:
    found = []
    lines = path.read_text("utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        end = next(i for i in range(index + 1, len(lines)) if lines[i].startswith(match["fence"]))
        text = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Block(match["lang"], tuple(match["options"].split()), text, index + 1))
        index = end + 1
    return found


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
