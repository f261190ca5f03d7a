"""A plugin's distribution name and version, read from its metadata file's header."""

from __future__ import annotations

from email import message_from_string

import pytest

from aos_core.plugins.discovery import _name_and_version


class _Dist:
    """What discovery reads of a distribution: `read_text(filename)`."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files

    def read_text(self, filename: str) -> str | None:
        return self.files.get(filename)


METADATA = (
    "Metadata-Version: 2.1\nname: Aos_Skill-Weather\nVersion:  1.2.0rc1 \nSummary: Name: not this\n"
    "\nName: a heading in the description\nVersion: 9.9.9\n"
)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"METADATA": METADATA}, ("Aos_Skill-Weather", "1.2.0rc1")),
        ({"PKG-INFO": "Name: old-style\nVersion: 0.1\n"}, ("old-style", "0.1")),  # an egg-info directory
        ({"": "Name: egg-file\nVersion: 3\n"}, ("egg-file", "3")),  # an egg-info file
        ({"METADATA": "Metadata-Version: 2.1\n"}, (None, None)),
        ({}, (None, None)),
    ],
)
def test_name_and_version_come_from_the_header_only(
    files: dict[str, str], expected: tuple[str | None, str | None]
) -> None:
    assert _name_and_version(_Dist(files)) == expected


def test_the_header_gives_what_the_email_parser_gives() -> None:
    parsed = message_from_string(METADATA)
    assert _name_and_version(_Dist({"METADATA": METADATA})) == (parsed["Name"], parsed["Version"].strip())
