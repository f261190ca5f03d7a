"""A worker process: takes queued runs and executes them by resuming them, until told to drain.

Started by `aos serve` (`python -m aos_server.worker`, settings as JSON in `AOS_SERVER_SETTINGS`),
it builds its own `Runtime` on the store and runs up to `concurrency` runs at once on one event
loop. A run is executed by `Runtime.arun(resume=RUN_ID)`, which takes the run's lease first, so
two workers never both execute it (the second gets `RunBusy` and moves on).

It talks to its supervisor through its standard streams: it prints `ready` once it can work;
a `w` on stdin means "work was queued", a `d` means "drain", an `x` "stop now". SIGTERM and SIGINT drain too (a
second one stops at once); so does the end of stdin (the server is gone). Draining: take nothing
new, let every run finish the steps in flight (`Runtime.drain`) for up to `drain_timeout_s`,
then cancel what is left (recorded `interrupted`, resumable), and exit 0.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from typing import Any

from aos_core import AOSError, RunBusy, RunNotFound, Runtime
from aos_server.db import Database
from aos_server.logs import setup_logging
from aos_server.queue import SQLiteQueue
from aos_server.records import RunRecords
from aos_server.settings import ServerSettings

__all__ = ["Worker", "main"]

log = logging.getLogger("aos.server.worker")


class Worker:
    """Runs queued runs on one `Runtime`; see the module docstring."""

    def __init__(self, settings: ServerSettings, runtime: Runtime, db: Database) -> None:
        self.settings = settings
        self.runtime = runtime
        self.queue = SQLiteQueue(db)
        self.records = RunRecords(db)
        self.name = str(os.getpid())  # the supervisor knows its workers by pid
        self.active: set[asyncio.Task[None]] = set()
        self.woken = asyncio.Event()
        self.draining = asyncio.Event()
        self.stop_now = asyncio.Event()

    # -- being told things ---------------------------------------------------------------------
    def drain(self) -> None:
        if self.draining.is_set():
            self.stop_now.set()  # a second signal: stop at once
        self.draining.set()
        self.woken.set()

    def _on_stdin(self) -> None:
        data = os.read(sys.stdin.fileno(), 4096)
        if not data:  # the supervisor is gone
            asyncio.get_running_loop().remove_reader(sys.stdin.fileno())
            self.draining.set()
        else:
            if b"x" in data:
                self.stop_now.set()
            if b"d" in data or b"x" in data:
                self.draining.set()
        self.woken.set()

    # -- working -------------------------------------------------------------------------------
    async def serve(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.drain)
        loop.add_reader(sys.stdin.fileno(), self._on_stdin)
        print("ready", flush=True)
        while not self.draining.is_set():
            self._heartbeat(True)
            while len(self.active) < self.settings.concurrency and not self.draining.is_set():
                taken = self.queue.take(self.name)
                if taken is None:
                    break
                task = asyncio.ensure_future(self._run(*taken))
                self.active.add(task)
                task.add_done_callback(self.active.discard)
            self.woken.clear()
            waiting: list[asyncio.Future[Any]] = [asyncio.ensure_future(self.woken.wait()), *self.active]
            await asyncio.wait(waiting, timeout=self.settings.poll_s, return_when=asyncio.FIRST_COMPLETED)
            waiting[0].cancel()
        await self._drain()

    def _heartbeat(self, alive: bool) -> None:
        """`aos_worker_up` and the time of the last beat, once per turn of the loop (at least every
        `poll_s`), for the server's `/metrics` and the alert on no live worker."""
        if self.settings.metrics:
            from aos_core import worker_heartbeat

            worker_heartbeat(alive)

    async def _drain(self) -> None:
        self._heartbeat(False)  # stopping: it takes no more work
        self.runtime.drain()  # runs in flight commit their steps and start no more
        if self.active:
            stop = asyncio.ensure_future(self.stop_now.wait())
            gone = asyncio.ensure_future(asyncio.wait(list(self.active)))
            await asyncio.wait([stop, gone], timeout=self.settings.drain_timeout_s, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            gone.cancel()
        left = list(self.active)
        for task in left:
            task.cancel()  # recorded interrupted, resumable
        await asyncio.gather(*left, return_exceptions=True)

    async def _run(self, run_id: str, options: dict[str, Any]) -> None:
        try:
            status = self.runtime.store.load_run(run_id).status
            if status in ("completed", "failed") or (status == "cancelled" and not options.get("explicit")):
                return
            result = await self.runtime.arun(
                resume=run_id,
                keep_events=True,
                repeat_in_flight=options.get("repeat") or (),
                abandon_in_flight=options.get("abandon") or (),
                on_event=lambda event: self._started(run_id, event),
            )
            if result.status in ("completed", "failed"):
                self.records.mark_done(run_id)
        except (RunBusy, RunNotFound):
            pass  # another worker holds it, or it is gone
        except AOSError as exc:
            log.error("run %s: %s", run_id, exc)
        except Exception as exc:  # noqa: BLE001 - one run's trouble must not stop the worker
            log.error("run %s failed in the worker: %s: %s", run_id, type(exc).__name__, exc)
        finally:
            self.queue.done(run_id, self.name)

    def _started(self, run_id: str, event: dict[str, Any]) -> None:
        """A cancel that landed while this worker was taking the run up is applied now."""
        if event["kind"] == "run_started" and self.records.owner(run_id).cancel_asked:
            self.runtime.cancel(run_id)


async def _main(settings: ServerSettings) -> None:
    runtime = settings.runtime()
    try:
        worker = Worker(settings, runtime, Database(runtime.store.location))
        await worker.serve()
    finally:
        await runtime.aclose()


def main() -> None:
    setup_logging()
    settings = ServerSettings.model_validate_json(os.environ["AOS_SERVER_SETTINGS"])
    asyncio.run(_main(settings))


if __name__ == "__main__":
    main()
