"""SQLite run store: one file, WAL journal, a versioned schema.

Durability: with the default `synchronous=NORMAL` in WAL mode a committed step survives the
process being killed (SIGKILL, a crash, an OOM kill) but may be lost on power failure or an OS
crash; `durability="full"` (`synchronous=FULL`) also survives those, at the cost of an fsync
per commit.

The store's operations are `SQLRunStore`'s (`sql.py`, shared with PostgreSQL); the file
handling is `SQLiteFile`'s (`sqlite_file.py`); the layout and its migrations are in `schema.py`.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal

from aos_core.runs.schema import SCHEMA_VERSION, upgrade
from aos_core.runs.sql import SQLRunStore
from aos_core.runs.sqlite_file import SQLiteFile

__all__ = ["SCHEMA_VERSION", "SQLiteRunStore"]


class SQLiteRunStore(SQLiteFile, SQLRunStore):
    """Runs in one SQLite file; safe to share between the runtime's threads."""

    schema_version = SCHEMA_VERSION

    def __init__(self, path: str | Path, durability: Literal["normal", "full"] = "normal") -> None:
        SQLiteFile.__init__(self, path, "run store", durability)

    def _upgrade(self, db: sqlite3.Connection, version: int) -> None:
        upgrade(db, version)
