"""A run's events as server-sent events: `id:` is the event's number, so a client that
reconnects with `Last-Event-ID: N` gets every event after N and misses nothing.

Workers write events to the run store as the run goes (a few times a second, and all of them
before the run's status changes when it stops), so the stream reads the store: events after the
last one sent, then the run's status. It ends once the run has stopped (completed, failed,
cancelled or interrupted) and every event is sent; it stays open while the run is queued,
running or waiting for an approval, with a comment line every `KEEPALIVE_S` so proxies keep it.
It also ends when the server shuts down, and when the key that opened it stops being valid
(revoked: looked at every `RECHECK_S`); the client reconnects with its last id, and its key is
checked again then.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool

__all__ = ["KEEPALIVE_S", "POLL_S", "RECHECK_S", "event_stream", "format_event"]

POLL_S = 0.2
KEEPALIVE_S = 15.0
RECHECK_S = 2.0  # how long a revoked key's open stream may go on
FOLLOWED = ("queued", "running", "waiting_approval")


def format_event(event: dict[str, Any]) -> bytes:
    data = json.dumps(event, sort_keys=True, separators=(",", ":"))
    return f"id: {event['seq']}\nevent: {event['kind']}\ndata: {data}\n\n".encode()


async def event_stream(
    read: Callable[[int], list[dict[str, Any]]],
    status: Callable[[], str],
    after: int,
    stop: Callable[[], bool],
    disconnected: Callable[[], Any],
    allowed: Callable[[], bool] = lambda: True,
) -> AsyncIterator[bytes]:
    """Events after number `after`, as SSE frames, until the run stops or `stop()` says so
    (checked whenever every stored event is sent), or `allowed()` says the caller may no longer
    read them (asked every `RECHECK_S`, in a thread: it reads the key store)."""
    last = after
    quiet_since = checked = time.monotonic()
    yield b"retry: 1000\n\n"
    while True:
        if time.monotonic() - checked >= RECHECK_S:
            if not await run_in_threadpool(allowed):
                return
            checked = time.monotonic()
        events = await run_in_threadpool(read, last)
        for event in events:
            last = int(event["seq"])
            yield format_event(event)
        if events:
            quiet_since = time.monotonic()
            continue
        if stop() or await disconnected():
            return
        if await run_in_threadpool(status) not in FOLLOWED:
            # the run stopped; its worker wrote every event before the status, so one last read
            for event in await run_in_threadpool(read, last):
                last = int(event["seq"])
                yield format_event(event)
            return
        if time.monotonic() - quiet_since >= KEEPALIVE_S:
            quiet_since = time.monotonic()
            yield b": keep-alive\n\n"
        await asyncio.sleep(POLL_S)
