"""The worker pool: N worker processes in the server's process group, each replaced if it dies.

A worker that exits unasked (a skill called `os._exit`, segfaulted, or was killed) takes only
itself down. Its supervisor marks the runs it was executing `interrupted` at once (they stay
resumable: `POST /v1/runs/{id}/resume`, or automatically at the next start) and hands back the
runs it had claimed but not started, then starts a replacement. Marking is done on the dead
worker's behalf: the supervisor writes as the run's lease owner, which it knows is gone.

`wake()` tells every idle worker that work was queued (a byte on its stdin), so a submitted run
starts without waiting for a poll; `drain()` asks every worker to drain and waits for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from typing import Any

from aos_core import RunNotFound, StoreError
from aos_server.queue import RunQueue
from aos_server.settings import ServerSettings

__all__ = ["Supervisor"]

log = logging.getLogger("aos.server")

_RESTART_DELAYS = (0.1, 0.5, 1.0, 2.0, 5.0)  # back off when workers keep dying at once
_KILL_GRACE_S = 5.0  # after the drain deadline, before a worker is killed


class _Slot:
    def __init__(self, index: int) -> None:
        self.index = index
        self.process: asyncio.subprocess.Process | None = None
        self.ready = False
        self.task: asyncio.Task[None] | None = None


class Supervisor:
    """Starts, watches, wakes, replaces and drains the worker processes."""

    def __init__(self, settings: ServerSettings, runtime: Any, queue: RunQueue) -> None:
        self.settings = settings
        self.runtime = runtime  # the API process's Runtime: its store is the one the workers use
        self.queue = queue
        self.slots = [_Slot(i) for i in range(settings.workers)]
        self.stopping = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_pending = False

    # -- starting and watching -----------------------------------------------------------------
    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for slot in self.slots:
            slot.task = asyncio.ensure_future(self._keep(slot))

    def counts(self) -> tuple[int, int]:
        """(workers expected, workers ready)."""
        return len(self.slots), sum(1 for s in self.slots if s.ready)

    async def _spawn(self) -> asyncio.subprocess.Process:
        env = {**os.environ, "AOS_SERVER_SETTINGS": self.settings.model_dump_json()}
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "aos_server.worker",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            env=env,
        )

    async def _keep(self, slot: _Slot) -> None:
        failures = 0
        while not self.stopping:
            began = time.monotonic()
            process = slot.process = await self._spawn()
            assert process.stdout is not None
            line = await process.stdout.readline()
            slot.ready = line.strip() == b"ready"
            code = await process.wait()
            slot.ready = False
            if self.stopping and code == 0:
                return
            self._worker_died(process.pid, code)
            failures = failures + 1 if time.monotonic() - began < 10 else 0
            if self.stopping:
                return
            await asyncio.sleep(_RESTART_DELAYS[min(failures, len(_RESTART_DELAYS) - 1)])

    def _worker_died(self, pid: int, code: int) -> None:
        """Mark what a dead worker was running `interrupted`; hand back what it had not started."""
        marked, returned = [], []
        if self.settings.metrics:
            from aos_core import mark_process_dead

            mark_process_dead(pid)  # its live gauges (up, in flight) go with it
        for run_id in self.queue.claimed_by(str(pid)):
            try:
                stored = self.runtime.store.load_run(run_id)
            except (RunNotFound, StoreError):
                self.queue.done(run_id, str(pid))
                continue
            owner = stored.owner or ""
            if owner.split(":")[-2:-1] == [str(pid)]:
                self._interrupt(run_id, owner)
                marked.append(run_id)
                self.queue.done(run_id, str(pid))
            else:  # claimed, never started: queue it again
                self.queue.release(run_id)
                returned.append(run_id)
        how = f"signal {-code}" if code < 0 else f"status {code}"
        log.warning(
            "worker %d exited with %s; runs interrupted: %s; runs queued again: %s",
            pid,
            how,
            ", ".join(marked) or "none",
            ", ".join(returned) or "none",
        )
        if returned:
            self.wake()

    def _interrupt(self, run_id: str, owner: str) -> None:
        store = self.runtime.store
        event = {
            "seq": store.last_event(run_id) + 1,
            "run_id": run_id,
            "kind": "run_ended",
            "status": "interrupted",
            "reason": "worker_exited",
            "failed_step": None,
            "at": self.runtime.clock.now().isoformat(),
        }
        try:
            store.append_events(run_id, owner, [event])
            store.finish_run(run_id, owner, "interrupted", None)
        except StoreError as exc:  # another process took the run meanwhile: it is not ours to mark
            log.warning("run %s: not marked interrupted: %s", run_id, exc)

    # -- waking and draining -------------------------------------------------------------------
    def wake(self) -> None:
        """Tell the workers work was queued; callable from any thread, coalesced."""
        loop = self._loop
        if loop is None or self._wake_pending:
            return
        self._wake_pending = True
        loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        self._wake_pending = False
        self._send(b"w")

    def _send(self, data: bytes) -> None:
        for slot in self.slots:
            process = slot.process
            if process is not None and process.returncode is None and process.stdin is not None:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # dying: its slot sees it exit
                    process.stdin.write(data)

    def stop_now(self) -> None:
        """Tell every worker to interrupt its runs at once (a second signal)."""
        self._send(b"x")

    async def drain(self, timeout_s: float) -> None:
        """Ask every worker to drain; wait for them (the drain deadline plus a grace), kill and
        mark the ones still there."""
        self.stopping = True
        self._send(b"d")
        tasks = [s.task for s in self.slots if s.task is not None]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=timeout_s + _KILL_GRACE_S)
        for slot in self.slots:
            process = slot.process
            if process is not None and process.returncode is None:
                log.warning("worker %d did not drain in time; killing it", process.pid)
                process.send_signal(signal.SIGKILL)
        if late:
            await asyncio.wait(late, timeout=10)
