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
from typing import Any, Literal

from aos_core.runs.schema import SCHEMA_VERSION, upgrade
from aos_core.runs.sql import SQLRunStore
from aos_core.runs.sqlite_file import SQLiteFile
from aos_core.runs.trace import canonical_parts

__all__ = ["SCHEMA_VERSION", "SQLiteRunStore"]


class SQLiteRunStore(SQLiteFile, SQLRunStore):
    """Runs in one SQLite file; safe to share between the runtime's threads."""

    schema_version = SCHEMA_VERSION
    PIECEWISE_HEADER_BYTES = 1 << 20  # a run header longer than this is written in pieces

    def __init__(self, path: str | Path, durability: Literal["normal", "full"] = "normal") -> None:
        SQLiteFile.__init__(self, path, "run store", durability)

    def _upgrade(self, db: sqlite3.Connection, version: int) -> None:
        upgrade(db, version)

    def _insert_run(self, db: Any, row: tuple[Any, ...], header: dict[str, Any]) -> None:
        """A large header is written in pieces into a blob of its length: bound as one value, SQLite
        copied it twice (the bound text, the row's record), the peak of `aos run` at 100,000
        steps (a 7.5 MB line: +15 MB; bench case 6). The value is then a BLOB of the line's UTF-8
        bytes, which the reader decodes (sql.py); a smaller header is TEXT, as always."""
        parts = canonical_parts(header)
        if sum(map(len, parts)) <= self.PIECEWISE_HEADER_BYTES:  # characters: at most its bytes
            db.execute("INSERT INTO runs VALUES (?,?,?,?,?)", (*row, "".join(parts)))
            return
        encoded = [part.encode("utf-8") for part in parts]
        del parts
        cursor = db.execute("INSERT INTO runs VALUES (?,?,?,?,zeroblob(?))", (*row, sum(map(len, encoded))))
        with db.blobopen("runs", "header", cursor.lastrowid, readonly=False) as blob:
            for part in encoded:
                blob.write(part)
