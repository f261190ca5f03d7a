"""The `aos` command line. Thin: each command parses, calls the runtime, renders text or JSON."""

from __future__ import annotations

from aos_core.cli.app import cli, main

__all__ = ["cli", "main"]
