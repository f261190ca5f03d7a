"""`aos serve`: the API on uvicorn, the worker pool beside it, and a graceful shutdown.

Start: the store is opened, claims left by the last server's workers are handed back, runs
submitted here that are queued or were interrupted are queued (and resumed under the rules of
`aos run --resume`), the HTTP server starts, then the workers.

SIGTERM or SIGINT: the server stops accepting work (submits, resumes, approvals and calls answer
503, `/readyz` 503) but keeps answering reads; every worker lets its runs finish the steps in
flight, for up to `--drain-timeout`, then interrupts what is left (recorded `interrupted`,
resumed at the next start); then event streams end, uvicorn closes the connections still open
after `--shutdown-timeout` (its own default would wait for an open event stream forever), and
the process exits 0. A second signal skips the wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import uvicorn

from aos_core import StoreError
from aos_server.app import create_app
from aos_server.logs import setup_logging
from aos_server.service import Service
from aos_server.settings import ServerSettings
from aos_server.supervisor import Supervisor

__all__ = ["run_server"]

log = logging.getLogger("aos.server")


def run_server(settings: ServerSettings) -> int:
    """Serve until a signal; 0 after a graceful shutdown, 2 when the store cannot be used."""
    setup_logging()
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)  # our own lines say when it listens and stops
    logging.getLogger("dbos").setLevel(logging.WARNING)  # a postgresql:// store's queue client
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(_metrics_dir(settings.metrics))
        except OSError as exc:
            where = os.environ.get("PROMETHEUS_MULTIPROC_DIR") or "a temporary directory"
            print(
                f"aos: cannot keep metrics in {where}: {exc.strerror or exc}; give PROMETHEUS_MULTIPROC_DIR "
                "a writable directory, or --no-metrics",
                file=sys.stderr,
            )
            return 2
        return _run(settings)


@contextlib.contextmanager
def _metrics_dir(metrics: bool) -> Iterator[None]:
    """Prometheus multiprocess mode for the server and its workers, set up before either imports
    prometheus_client: `PROMETHEUS_MULTIPROC_DIR` when given (emptied of the last server's files),
    else a directory of this server's own, removed when it stops. Workers inherit it."""
    given = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not metrics:
        yield
    elif given:
        folder = Path(given)
        folder.mkdir(parents=True, exist_ok=True)
        for stale in folder.glob("*.db"):  # counts of processes long gone would be added in
            stale.unlink()
        yield
    else:
        folder = Path(tempfile.mkdtemp(prefix="aos-metrics-"))
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)
        try:
            yield
        finally:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
            shutil.rmtree(folder, ignore_errors=True)


def _run(settings: ServerSettings) -> int:
    try:
        runtime = settings.runtime()
        service = Service(runtime, settings)
        queued = service.recover()
    except (StoreError, ValueError) as exc:
        print(f"aos: {exc}", file=sys.stderr)
        return 2
    if queued:
        log.info("queued again at start: %s", ", ".join(queued))
    if not service.keys.all():
        log.warning(
            "no API keys yet: every request will be refused; create one with: aos keys create NAME --scope admin"
        )
    try:
        asyncio.run(_serve(settings, service))
    finally:
        runtime.close()
    return 0


class _Server(uvicorn.Server):
    """uvicorn's server without its own signal handling: ours drains the workers first."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def _serve(settings: ServerSettings, service: Service) -> None:
    config = uvicorn.Config(
        create_app(service),
        host=settings.host,
        port=settings.port,
        timeout_graceful_shutdown=int(max(1, settings.shutdown_timeout_s)),
        access_log=settings.access_log,
        log_config=None,
        lifespan="off",
    )
    server = _Server(config)
    supervisor = Supervisor(settings, service.runtime, service.queue)
    service.wake = supervisor.wake
    service.workers = supervisor.counts

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        stop.set()
        if signals > 1:  # a second signal: no more waiting
            log.warning("second signal: stopping now")
            supervisor.stop_now()
            server.force_exit = True

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, on_signal)

    serving = asyncio.ensure_future(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.01)
    if serving.done():
        serving.result()
        return
    address = server.servers[0].sockets[0].getsockname()
    log.info("listening on http://%s:%d (%d workers)", address[0], address[1], settings.workers)
    await supervisor.start()
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([stopped, serving], return_when=asyncio.FIRST_COMPLETED)
    log.info("draining: no new work; runs in flight get %g s to finish their steps", settings.drain_timeout_s)
    service.draining = True
    await supervisor.drain(settings.drain_timeout_s)
    service.closing = True
    server.should_exit = True
    await serving
    log.info("stopped")
