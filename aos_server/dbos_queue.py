"""The queue of runs on DBOS Transact, for a `postgresql://` store: one DBOS workflow per run.

DBOS keeps its own tables (its "system database") in the same PostgreSQL database as the run
store, in a schema of their own named after the store's: `aos_dbos` beside `aos` (for
`?schema=NAME`, `NAME_dbos`). A run is queued as a workflow named `aos_run` on a DBOS queue
(default `aos_runs`; `aos worker --queue NAME`) whose id is the run's id, so a run put twice
while it waits runs once. Putting a run again once its first workflow has started or ended (an
approval decided, a resume asked, a run handed back by a draining worker) queues a workflow with
a fresh id `RUN_ID~XXXXXXXX`: the body of every one of them resumes the AOS run, and the run's
lease in the run store, not DBOS, says who executes it, so two workflows of one run never both
execute it and what was committed is never redone.

`DBOSQueue` is the `RunQueue` of an API process (`aos serve --workers 0`): it only enqueues,
through a `DBOSClient`; the workers (`aos worker`, `dbos_worker.py`) dequeue. `dbos` is imported
when a queue is opened, never by `aos --help` or discovery.
"""

from __future__ import annotations

import os
from typing import Any

from aos_core import StoreError
from aos_server.db_postgres import safe_url, split_url

__all__ = [
    "APP_NAME",
    "APP_VERSION",
    "DEFAULT_QUEUE",
    "WORKFLOW_NAME",
    "DBOSQueue",
    "dbos_client",
    "dbos_target",
    "enqueue_run",
]

APP_NAME = "aos"
# The workflow's interface version: every worker of this aos-server dequeues workflows queued by
# any other (DBOS would otherwise derive a version from the code and split the queue by install).
APP_VERSION = "aos-run-1"
WORKFLOW_NAME = "aos_run"
DEFAULT_QUEUE = "aos_runs"
_STARTED = ("PENDING", "SUCCESS", "ERROR", "CANCELLED", "MAX_RECOVERY_ATTEMPTS_EXCEEDED")


def dbos_target(store: str) -> tuple[str, str]:
    """(DBOS's system database URL, its schema) for a `postgresql://` store URL."""
    url, schema = split_url(store)
    return url, f"{schema}_dbos"


def _import_dbos() -> Any:
    try:
        import dbos
    except ImportError:
        raise StoreError("a postgresql:// store's queue needs DBOS: pip install 'aos-server[postgresql]'") from None
    return dbos


def dbos_client(store: str, pool_size: int = 2) -> Any:
    """A `DBOSClient` on the store's DBOS schema, with a small pool. The schema is created or
    migrated first (`DBOS.migrate`, under DBOS's advisory lock): a client alone never creates it,
    so `aos serve --workers 0` on a fresh store could not queue a run before a worker had started."""
    dbos = _import_dbos()
    url, schema = dbos_target(store)
    try:
        dbos.DBOS.migrate(url, schema=schema)
        return dbos.DBOSClient(
            system_database_url=url,
            dbos_system_schema=schema,
            application_name=APP_NAME,
            system_database_pool_size=pool_size,
        )
    except Exception as exc:  # noqa: BLE001 - DBOS's and SQLAlchemy's errors alike: one line naming the store
        text = " ".join(str(exc).split())[:300]
        raise StoreError(f"run store {safe_url(store)}: cannot open DBOS's tables ({schema}): {text}") from None


def enqueue_run(client: Any, queue: str, run_id: str, options: dict[str, Any] | None = None) -> str:
    """Queue a workflow resuming run `run_id`; its workflow id (see the module docstring)."""
    workflow_id = run_id
    if options:
        workflow_id = f"{run_id}~{os.urandom(4).hex()}"
    else:
        found = client.list_workflows(workflow_ids=[run_id], load_input=False, load_output=False)
        if found and found[0].status in _STARTED:
            workflow_id = f"{run_id}~{os.urandom(4).hex()}"
    client.enqueue(
        {
            "workflow_name": WORKFLOW_NAME,
            "queue_name": queue,
            "workflow_id": workflow_id,
            "app_version": APP_VERSION,
            "application_name": APP_NAME,
        },
        run_id,
        dict(options or {}),
    )
    return workflow_id


class DBOSQueue:
    """`RunQueue` of an API process on DBOS: puts runs in the queue; workers take them."""

    def __init__(self, store: str, queue: str, db: Any) -> None:
        self.store = store
        self.queue = queue
        self.client = dbos_client(store)
        self.db = db  # the server's tables, in the same database: counts DBOS's queue in one query
        self._dbos_schema = dbos_target(store)[1]

    def _error(self, exc: Exception, doing: str) -> StoreError:
        text = " ".join(str(exc).split())[:300]
        return StoreError(f"run store {safe_url(self.store)}: cannot {doing} (DBOS queue {self.queue}): {text}")

    def put(self, run_id: str, options: dict[str, Any] | None = None) -> None:
        try:
            enqueue_run(self.client, self.queue, run_id, options)
        except Exception as exc:  # noqa: BLE001
            raise self._error(exc, "queue a run") from None

    def take(self, worker: str) -> tuple[str, dict[str, Any]] | None:
        return None  # workers dequeue through DBOS itself

    def done(self, run_id: str, worker: str) -> None:
        return None

    def discard(self, run_id: str) -> None:
        """Nothing to drop: a workflow of a cancelled run finds it cancelled and ends."""
        return None

    def claimed_by(self, worker: str) -> list[str]:
        return []  # a dead worker's workflows are picked up by the other workers (dbos_worker.py)

    def release(self, run_id: str) -> None:
        return None

    def release_all(self) -> int:
        return 0

    def waiting(self) -> int:
        """How many runs wait in the queue, not yet taken by a worker: one COUNT over DBOS's
        workflow table (listing the workflows read every queued row on each `/readyz`)."""
        with self.db.reading("read the queue") as db:
            row = db.execute(
                f"SELECT COUNT(*) FROM {self._dbos_schema}.workflow_status"
                " WHERE status = 'ENQUEUED' AND queue_name = ?",
                (self.queue,),
            ).fetchone()
        return int(row[0])
