"""The fenced code blocks of a Markdown file, for the tests that read or run the documentation."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Fenced", "fenced_blocks"]

FENCE = re.compile(r"^(?P<fence>`{3,}|~{3,})\s*(?P<lang>[\w+-]*)(?P<options>.*)$")


@dataclass(frozen=True)
class Fenced:
    """One fenced block: its language, the words after it, its text and where it starts."""

    lang: str
    options: tuple[str, ...]
    text: str
    line: int  # of the opening fence, 1-based

    def option(self, key: str) -> str | None:
        """The value of `key=VALUE` among the words after the language, if there."""
        return next((o.split("=", 1)[1] for o in self.options if o.startswith(f"{key}=")), None)


def fenced_blocks(path: Path) -> list[Fenced]:
    """Every fenced block of `path`, in order; an unclosed fence runs to the end of the file."""
    found = []
    lines = path.read_text("utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        fence = match["fence"]
        end = next((i for i in range(index + 1, len(lines)) if lines[i].strip().startswith(fence)), len(lines))
        text = "\n".join(lines[index + 1 : end]) + "\n"
        found.append(Fenced(match["lang"], tuple(match["options"].split()), text, index + 1))
        index = end + 1
    return found
