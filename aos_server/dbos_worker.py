"""`aos worker`: one process taking runs from the DBOS queue of a `postgresql://` store.

DBOS dequeues at most `concurrency` workflows at once on this process (the queue's worker
concurrency) and runs each body in its own thread; the body hands the run to this process's
event loop, where it is executed by `Runtime.arun(resume=RUN_ID)` as `aos serve`'s workers do:
the run's lease is taken first (another process holding it: `RunBusy`), committed steps are
never redone, and steps in flight at a crash are repeated when idempotent and reported
otherwise (the resume rules of `aos run --resume`).

Dead workers (DBOS recovers only the workflows of its own executor id): every worker writes a
heartbeat row (`server_workers`) every third of the lease and, in the same beat, takes the rows
of workers unseen for a whole lease (`DELETE ... RETURNING`, so one worker takes each) and puts
their unfinished (`PENDING`) workflows back in the queue (`resume_workflow`). The body that
runs such a workflow again finds the run's lease still held by the dead worker until it expires,
and waits for that (`RunBusy` retried while the holder does not renew); a holder that renews is
alive, and the body leaves the run to it.

SIGTERM or SIGINT drains (a second one stops at once): DBOS stops dequeuing
(`DBOS.destroy(workflow_completion_timeout_sec=...)`), runs finish the steps in flight for up to
the drain deadline, what is left is cancelled (recorded `interrupted`); every run this worker
stops before its end is handed back (queued again, for another worker), and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import signal
import socket
import sys
import threading
from typing import Any

from aos_core import AOSError, RunBusy, RunNotFound, Runtime, StoreError, start_metrics_server, worker_heartbeat
from aos_server.db_postgres import PostgresDatabase
from aos_server.dbos_queue import APP_NAME, APP_VERSION, WORKFLOW_NAME, dbos_client, dbos_target, enqueue_run
from aos_server.logs import setup_logging
from aos_server.records import RunRecords
from aos_server.settings import ServerSettings

__all__ = ["DBOSWorker", "run_worker"]

log = logging.getLogger("aos.worker")
_DB_NOW = "EXTRACT(EPOCH FROM clock_timestamp())::float8"  # the PostgreSQL server's clock, one for every worker

_WORKER: DBOSWorker | None = None  # the process's worker, for the workflow body DBOS calls


def _aos_run(run_id: str, options: dict[str, Any]) -> str:
    """The DBOS workflow `aos_run`: resume one AOS run on this process's worker."""
    worker = _WORKER
    if worker is None:  # pragma: no cover - DBOS runs bodies only after launch
        raise RuntimeError("no AOS worker in this process")
    return worker.execute(run_id, options)


class DBOSWorker:
    """One `aos worker`: DBOS dequeues, this executes; see the module docstring."""

    def __init__(self, settings: ServerSettings, runtime: Runtime, queue: str) -> None:
        self.settings = settings
        self.runtime = runtime
        self.queue = queue
        self.executor_id = f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"
        self.db = PostgresDatabase(settings.store, max_size=2)
        self.records = RunRecords(self.db)
        self.client = dbos_client(settings.store)
        self.loop: asyncio.AbstractEventLoop | None = None
        self.active: set[asyncio.Task[str]] = set()
        self.draining = threading.Event()
        self.stop_now = asyncio.Event()
        self.handed_back: list[str] = []
        self._beating = threading.Event()

    # -- being told things ---------------------------------------------------------------------
    def drain(self) -> None:
        if self.draining.is_set():
            self.stop_now.set()  # a second signal: stop at once
        self.draining.set()
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._wake.set)

    # -- the workflow body (a DBOS thread) -----------------------------------------------------
    def execute(self, run_id: str, options: dict[str, Any]) -> str:
        loop = self.loop
        if self.draining.is_set() or loop is None:
            self.hand_back(run_id)
            return "handed_back"
        try:
            return asyncio.run_coroutine_threadsafe(self._start(run_id, options), loop).result()
        except BaseException as exc:  # noqa: BLE001 - the loop closed under it: the run goes back to the queue
            log.warning("run %s: handed back (%s)", run_id, type(exc).__name__)
            self.hand_back(run_id)
            return "handed_back"

    async def _start(self, run_id: str, options: dict[str, Any]) -> str:
        task = asyncio.ensure_future(self._run(run_id, options))
        self.active.add(task)
        task.add_done_callback(self.active.discard)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            self.hand_back(run_id)  # interrupted at the drain deadline
            return "handed_back"

    def hand_back(self, run_id: str) -> None:
        """Queue the run again for another worker (this one is draining)."""
        try:
            enqueue_run(self.client, self.queue, run_id, None)
            self.handed_back.append(run_id)
        except Exception as exc:  # noqa: BLE001 - the run stays interrupted, resumable by hand
            log.error("run %s: not handed back (%s); resume it with POST /v1/runs/%s/resume", run_id, exc, run_id)

    async def _run(self, run_id: str, options: dict[str, Any]) -> str:
        seen: tuple[str | None, float | None, float] | None = None
        again = True  # one more resume for an approval decided meanwhile
        while True:
            try:
                status = self.runtime.store.load_run(run_id).status
                if status in ("completed", "failed") or (status == "cancelled" and not options.get("explicit")):
                    return status
                result = await self.runtime.arun(
                    resume=run_id,
                    keep_events=True,
                    repeat_in_flight=options.get("repeat") or (),
                    abandon_in_flight=options.get("abandon") or (),
                    on_event=lambda event: self._started(run_id, event),
                )
            except RunBusy:
                holder = self._holder(run_id)
                if holder is None:
                    continue  # let go meanwhile: try again at once
                if seen is not None and (holder[0] != seen[0] or (holder[1] or 0) > (seen[1] or 0)):
                    return "busy"  # the holder renewed its lease: it is alive and executes the run
                seen = holder
                await asyncio.sleep(max(0.2, min(2.0, holder[2] + 0.1)))
                continue
            except RunNotFound:
                return "gone"
            except AOSError as exc:
                log.error("run %s: %s", run_id, exc)
                return "error"
            except Exception as exc:  # noqa: BLE001 - one run's trouble must not stop the worker
                log.error("run %s failed in the worker: %s: %s", run_id, type(exc).__name__, exc)
                return "error"
            if result.status in ("completed", "failed"):
                self.records.mark_done(run_id)
            elif result.status == "interrupted" and self.draining.is_set():
                self.hand_back(run_id)
                return "handed_back"
            elif result.status == "waiting_approval" and again and not self.draining.is_set() and self._decided(run_id):
                again = False
                continue  # decided while this worker held the run (that workflow found it busy): go on
            return str(result.status)

    def _decided(self, run_id: str) -> bool:
        stored = self.runtime.store.load_run(run_id)
        return any(
            a["decision"] is not None and a["step_id"] not in stored.trace.steps
            for a in self.runtime.store.approvals(run_id)
        )

    def _holder(self, run_id: str) -> tuple[str | None, float | None, float] | None:
        """(owner, lease end, seconds left) of a live lease on the run, by the store's clock."""
        stored = self.runtime.store.load_run(run_id)
        left = stored.lease_left_s
        if left <= 0:
            return None
        return stored.owner, stored.lease_until, left

    def _started(self, run_id: str, event: dict[str, Any]) -> None:
        """A cancel that landed while this worker was taking the run up is applied now."""
        if event["kind"] == "run_started" and self.records.owner(run_id).cancel_asked:
            self.runtime.cancel(run_id)

    # -- heartbeats and dead workers (a thread) ------------------------------------------------
    def beat(self) -> list[str]:
        """Say this worker is alive; put back the workflows of workers unseen for a lease.
        The ids of the workflows put back. Times are the database's (`_DB_NOW`), so a worker whose
        clock is off neither looks dead nor finds live workers dead."""
        with self.db.writing("record a worker heartbeat") as db:
            db.execute(
                f"INSERT INTO server_workers VALUES (?,?,?,?,{_DB_NOW},{_DB_NOW}) ON CONFLICT (executor_id) DO UPDATE"
                " SET seen_at = excluded.seen_at",
                (self.executor_id, socket.gethostname(), os.getpid(), self.queue),
            )
            dead = [
                str(r[0])
                for r in db.execute(
                    f"DELETE FROM server_workers WHERE seen_at < {_DB_NOW} - ? AND executor_id <> ?"
                    " RETURNING executor_id",
                    (self.settings.lease_s, self.executor_id),
                ).fetchall()
            ]
        recovered: list[str] = []
        for executor in dead:
            try:
                recovered += self._recover(executor)
            except Exception as exc:  # noqa: BLE001 - its row comes back, gone: the next beat tries again
                log.warning("worker %s is gone; its runs not queued again yet: %s", executor, str(exc)[:300])
                with self.db.writing("record a worker's exit") as db:
                    db.execute(
                        "INSERT INTO server_workers VALUES (?,'',0,?,0,0) ON CONFLICT DO NOTHING",
                        (executor, self.queue),
                    )
        return recovered

    def _recover(self, executor: str) -> list[str]:
        """Put the unfinished workflows of a dead worker back in their queues."""
        pending = self.client.list_workflows(
            status="PENDING", executor_id=executor, load_input=False, load_output=False
        )
        for workflow in pending:
            self.client.resume_workflow(workflow.workflow_id, queue_name=workflow.queue_name or self.queue)
        log.warning(
            "worker %s is gone (no heartbeat for %g s); its runs queued again: %s",
            executor,
            self.settings.lease_s,
            ", ".join(w.workflow_id for w in pending) or "none",
        )
        return [w.workflow_id for w in pending]

    def _beats(self, metrics: bool) -> None:
        every = max(0.2, self.settings.lease_s / 3)
        while not self._beating.wait(every):
            try:
                self.beat()
                if metrics:
                    worker_heartbeat()
            except (StoreError, Exception) as exc:  # noqa: BLE001 - a missed beat is retried at the next one
                log.warning("heartbeat: %s", " ".join(str(exc).split())[:300])

    def gone(self) -> None:
        """A clean exit: this worker's row says it is gone, so any workflow it leaves is put back."""
        with contextlib.suppress(StoreError), self.db.writing("record a worker's exit") as db:
            db.execute("UPDATE server_workers SET seen_at = 0 WHERE executor_id=?", (self.executor_id,))

    # -- the process ---------------------------------------------------------------------------
    def _launch(self) -> None:
        from dbos import DBOS

        url, schema = dbos_target(self.settings.store)
        try:
            DBOS.workflow(name=WORKFLOW_NAME)(_aos_run)
            DBOS(
                config={
                    "name": APP_NAME,
                    "system_database_url": url,
                    "dbos_system_schema": schema,
                    "application_version": APP_VERSION,
                    "executor_id": self.executor_id,
                    "log_level": "WARNING",
                    # DBOS's connections: dequeues and workflow states (its default of 20 per process
                    # would exhaust a server's 100 connections with a few workers)
                    "sys_db_pool_size": min(20, 4 + self.settings.concurrency // 2),
                }
            )
            DBOS.launch()
            DBOS.register_queue(
                self.queue,
                worker_concurrency=self.settings.concurrency,
                polling_interval_sec=self.settings.poll_s,
            )
        except Exception as exc:  # noqa: BLE001 - DBOS's and SQLAlchemy's errors alike: one line naming the store
            text = " ".join(str(exc).split())[:300]
            raise StoreError(f"run store {self.db.location}: cannot start DBOS ({schema}): {text}") from None

    async def serve(self, metrics_port: int | None = None) -> None:
        global _WORKER  # noqa: PLW0603 - DBOS calls a registered function, which finds the worker here
        _WORKER = self
        self.loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            self.loop.add_signal_handler(sig, self.drain)
        if metrics_port is not None:
            exposed = start_metrics_server(metrics_port, store=self.runtime.store)
            log.info("metrics on http://127.0.0.1:%d/metrics", exposed.server_port)
            worker_heartbeat()
        await asyncio.to_thread(self.beat)  # known alive before taking anything
        beats = threading.Thread(target=self._beats, args=(metrics_port is not None,), daemon=True)
        beats.start()
        await asyncio.to_thread(self._launch)
        log.info(
            "ready: executor %s, queue %s, concurrency %d, store %s",
            self.executor_id,
            self.queue,
            self.settings.concurrency,
            self.db.location,
        )
        await self._wake.wait()
        await self._drain()
        self._beating.set()
        beats.join(timeout=10)
        self.gone()
        if metrics_port is not None:
            worker_heartbeat(False)
        log.info("stopped; runs handed back: %s", ", ".join(self.handed_back) or "none")

    async def _drain(self) -> None:
        from dbos import DBOS

        timeout = self.settings.drain_timeout_s
        log.info("draining: no new runs; runs in flight get %g s to finish their steps", timeout)
        destroying = asyncio.ensure_future(
            asyncio.to_thread(DBOS.destroy, workflow_completion_timeout_sec=math.ceil(timeout) + 2)
        )
        self.runtime.drain()  # runs in flight commit their steps and start no more
        if self.active:
            stop = asyncio.ensure_future(self.stop_now.wait())
            gone = asyncio.ensure_future(asyncio.wait(list(self.active)))
            await asyncio.wait([stop, gone], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            gone.cancel()
        left = list(self.active)
        for task in left:
            task.cancel()  # recorded interrupted, handed back
        await asyncio.gather(*left, return_exceptions=True)
        await destroying


async def _main(settings: ServerSettings, queue: str, metrics_port: int | None) -> None:
    runtime = settings.runtime()
    try:
        runtime.store  # noqa: B018 - the core's schema first, then the server's tables
        worker = DBOSWorker(settings, runtime, queue)
        await worker.serve(metrics_port)
    finally:
        await runtime.aclose()


def run_worker(settings: ServerSettings, queue: str, metrics_port: int | None = None) -> int:
    """Work until a signal; 0 after a drain, 2 when the store or DBOS cannot be used."""
    setup_logging()
    logging.getLogger("dbos").setLevel(logging.WARNING)  # DBOS's start-up chatter; its warnings stay
    try:
        asyncio.run(_main(settings, queue, metrics_port))
    except (StoreError, ValueError, OSError) as exc:
        print(f"aos: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - anything else, in one line: the runs it held go on elsewhere
        print(f"aos: aos worker stopped: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}", file=sys.stderr)
        return 1
    return 0
