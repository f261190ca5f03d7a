"""The local server of case 3, on 127.0.0.1 only, answering every GET with one small JSON body.

`--kind raw` (default): an asyncio Protocol speaking just enough HTTP/1.1 (keep-alive, requests
without a body) to answer in a few microseconds, so the server is not what limits the fastest
client. `--kind aiohttp`: an aiohttp web application, for comparison.

Prints its port on stdout once it listens, then serves until stdin closes or it is terminated.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

BODY = b'{"ok": true, "items": [1, 2, 3], "text": "hello from the benchmark server"}'
RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(BODY)).encode()
    + b"\r\nServer: aos-bench\r\n\r\n"
    + BODY
)


class Raw(asyncio.Protocol):
    """Answers each complete request head (ended by a blank line) with RESPONSE."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: asyncio.Transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        count = self.buffer.count(b"\r\n\r\n")
        if count:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(RESPONSE * count)


async def start_raw() -> tuple[int, object]:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Raw, "127.0.0.1", 0, backlog=1024)
    return server.sockets[0].getsockname()[1], server


async def start_aiohttp() -> tuple[int, object]:
    from aiohttp import web

    async def handle(request: web.Request) -> web.Response:
        return web.Response(body=BODY, content_type="application/json")

    app = web.Application()
    app.router.add_get("/", handle)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
    await site.start()
    return runner.addresses[0][1], runner


async def serve(kind: str) -> None:
    port, _server = await (start_raw() if kind == "raw" else start_aiohttp())
    print(port, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_reader(sys.stdin.fileno(), lambda: stop.set() if not sys.stdin.buffer.read1(1) else None)
    await stop.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--kind", choices=("raw", "aiohttp"), default="raw")
    asyncio.run(serve(parser.parse_args().kind))
