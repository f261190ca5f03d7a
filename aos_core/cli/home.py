"""Where `aos` keeps its state: `AOS_HOME`, else the platform's app directory for "aos"."""

from __future__ import annotations

import os
from pathlib import Path

import click

__all__ = ["aos_home"]


def aos_home() -> Path:
    """Where state lives: `AOS_HOME`, else the platform's app dir for "aos"."""
    return Path(os.environ.get("AOS_HOME") or click.get_app_dir("aos"))
