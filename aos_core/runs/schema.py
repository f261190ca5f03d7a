"""The run store's schema (one text for SQLite and PostgreSQL), and the migrations that bring an
older SQLite database up to it.

Version 1 (`PRAGMA user_version`): `runs` holds what never changes (the header with the whole
plan: its canonical line as TEXT, or in SQLite, over a megabyte, as a BLOB of the line's UTF-8
bytes, written in pieces, sqlite.py); `run_state` the small row that does (status, lease, end
record), so a commit never rewrites the plan; `steps` the committed step records; `holds` the
worst cases of attempts in flight; `events` what a run reported as it went (for live progress
and server-sent events); `approvals` the approvals a run waits for and their decisions; `budgets`
and `budget_holds` the shared budgets (contracts with an id held in the store,
`budget/shared.py`). Version 2 adds
`run_trace_context`: the W3C traceparent a run was started with, so whoever resumes it continues
the caller's trace. Version 3 adds `rate_buckets`: the rate-limit buckets of shared contracts
(tokens and when they were counted, by the database's clock). Version 0 is the first release's
layout (`runs` with status and pid beside the header, and `started` marks); a test upgrades a
database made by that release.
"""

from __future__ import annotations

import json
import sqlite3

from aos_core.runs.trace import canonical_json

__all__ = ["RATE_BUCKETS_TABLE", "SCHEMA_VERSION", "TRACE_CONTEXT_TABLE", "create_statements", "upgrade"]

SCHEMA_VERSION = 3

_CREATE = """
CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    goal TEXT NOT NULL,
    created_at TEXT NOT NULL,
    steps_total INTEGER NOT NULL,
    header TEXT NOT NULL
);
CREATE TABLE run_state (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    owner TEXT,
    lease_until DOUBLE PRECISION,
    end_record TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE steps (
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (run_id, step_id)
);
CREATE TABLE holds (
    id {serial},
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    worst TEXT NOT NULL,
    idempotent INTEGER NOT NULL
);
CREATE INDEX holds_by_run ON holds (run_id, step_id);
CREATE TABLE events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
CREATE TABLE budgets (
    id TEXT PRIMARY KEY,
    contract TEXT NOT NULL,
    started_at DOUBLE PRECISION NOT NULL,
    spent TEXT NOT NULL,
    held TEXT NOT NULL
);
CREATE TABLE budget_holds (
    id {serial},
    budget_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    worst TEXT NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL
);
CREATE INDEX budget_holds_by_budget ON budget_holds (budget_id, expires_at);
CREATE TABLE approvals (
    run_id TEXT NOT NULL,
    step_id TEXT NOT NULL,
    request TEXT NOT NULL,
    decision TEXT,
    decided_by TEXT,
    decided_at TEXT,
    PRIMARY KEY (run_id, step_id)
);
"""
# version 2; IF NOT EXISTS: a database migrated from version 0 gets it from _CREATE, then again
TRACE_CONTEXT_TABLE = (
    "CREATE TABLE IF NOT EXISTS run_trace_context (run_id TEXT PRIMARY KEY, traceparent TEXT NOT NULL)"
)

# version 3: the rate limits of shared contracts
RATE_BUCKETS_TABLE = (
    "CREATE TABLE IF NOT EXISTS rate_buckets (budget_id TEXT NOT NULL, skill TEXT NOT NULL,"
    " tokens DOUBLE PRECISION NOT NULL, counted_at DOUBLE PRECISION NOT NULL, PRIMARY KEY (budget_id, skill))"
)


def _migrate_v0(db: sqlite3.Connection) -> None:
    """The first release's layout: `runs` with status and pid beside the header, `started`."""
    db.execute("ALTER TABLE runs RENAME TO runs_v0")
    db.execute("ALTER TABLE steps RENAME TO steps_v0")
    for statement in create_statements(_SQLITE_SERIAL):
        db.execute(statement)
    zero = canonical_json({"calls": 0, "currency": "USD", "input_tokens": 0, "money": "0", "output_tokens": 0})
    rows = db.execute("SELECT id, status, goal, created_at, updated_at, header, end_record FROM runs_v0").fetchall()
    for run_id, status, goal, created, updated, header, end in rows:
        total = len(json.loads(header).get("plan", {}).get("steps", []))
        db.execute("INSERT INTO runs VALUES (?,?,?,?,?)", (run_id, goal, created, total, header))
        # a run that was running then has no lease: its process is gone or will never renew it
        shown = "interrupted" if status == "running" else status
        db.execute("INSERT INTO run_state VALUES (?,?,?,NULL,NULL,?,0)", (run_id, shown, updated, end))
    db.execute("INSERT INTO steps SELECT run_id, step_id, record FROM steps_v0")
    db.execute(
        "INSERT INTO holds (run_id, step_id, attempt, worst, idempotent) SELECT s.run_id, s.step_id, 1, ?, 0"
        " FROM started s"
        " WHERE NOT EXISTS (SELECT 1 FROM steps c WHERE c.run_id = s.run_id AND c.step_id = s.step_id)",
        (zero,),
    )
    db.execute("DROP TABLE started")
    db.execute("DROP TABLE steps_v0")
    db.execute("DROP TABLE runs_v0")


def _migrate_v1(db: sqlite3.Connection) -> None:
    """Version 2: the trace context runs were started with (its statement is idempotent)."""
    db.execute(TRACE_CONTEXT_TABLE)


def _migrate_v2(db: sqlite3.Connection) -> None:
    """Version 3: the rate-limit buckets of shared contracts."""
    db.execute(RATE_BUCKETS_TABLE)


_MIGRATIONS = {0: _migrate_v0, 1: _migrate_v1, 2: _migrate_v2}  # from version N to N + 1


def create_statements(serial: str) -> list[str]:
    """The statements creating the current schema; `serial` is the dialect's auto-numbered key
    (SQLite: INTEGER PRIMARY KEY AUTOINCREMENT; PostgreSQL: BIGSERIAL PRIMARY KEY)."""
    created = [s.strip() for s in _CREATE.replace("{serial}", serial).split(";") if s.strip()]
    return [*created, TRACE_CONTEXT_TABLE, RATE_BUCKETS_TABLE]


_SQLITE_SERIAL = "INTEGER PRIMARY KEY AUTOINCREMENT"


def upgrade(db: sqlite3.Connection, version: int) -> None:
    """Create the schema in an empty database, or migrate one at `version`; inside a transaction."""
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        for statement in create_statements(_SQLITE_SERIAL):
            db.execute(statement)
    else:
        while version < SCHEMA_VERSION:
            _MIGRATIONS[version](db)
            version += 1
    db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
