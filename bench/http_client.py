"""One HTTP client of case 3, in its own process: GET requests at a fixed concurrency, req/s per round.

`--concurrency C` workers share one client and loop until the round's time is up or its
request cap is reached; every response is read to the end and checked (status 200). Only
http://127.0.0.1:PORT/ is ever requested.

With `--serve` (how case_http.py drives it) the client warms up, prints one JSON line
`{"ready": description}` and then runs one round per `go` line read on stdin (after a short
untimed warm-up that reopens idle connections), answering `{"rate": req/s, "requests": n}`,
until stdin closes. Without it, it runs `--rounds` rounds and prints a case document.
A client whose code is not there (`aos-engine` reaches into aos_skill_http's internals, which
may change) prints `{"unavailable": why}` and exits 3.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from benchlib import emit, row

Fetch = Callable[[], Awaitable[None]]


class Unavailable(Exception):
    """This client's code is not in this checkout (a diagnostic client reaching into internals)."""


async def make(name: str, url: str, port: int) -> tuple[Fetch, Callable[[], Awaitable[None]], str]:
    """(one request, close, description) for client `name`."""
    if name in ("httpx", "httpx2"):
        lib: Any = __import__(name)
        client = lib.AsyncClient()

        async def fetch() -> None:
            response = await client.get(url)
            await response.aread()
            assert response.status_code == 200

        return fetch, client.aclose, f"{name} {lib.__version__} AsyncClient()"
    if name == "aiohttp":
        import aiohttp

        session = aiohttp.ClientSession()

        async def fetch() -> None:
            async with session.get(url) as response:
                await response.read()
                assert response.status == 200

        return fetch, session.close, f"aiohttp {aiohttp.__version__} ClientSession()"
    if name in ("httpx-aiohttp", "httpx2-aiohttp"):
        if name == "httpx-aiohttp":
            from httpx_aiohttp import HttpxAiohttpClient as Client
        else:
            from httpx_aiohttp.httpx2 import Httpx2AiohttpClient as Client
        client = Client()

        async def fetch() -> None:
            response = await client.get(url)
            await response.aread()
            assert response.status_code == 200

        return fetch, client.aclose, f"{Client.__name__}() (httpx-aiohttp transport)"
    if name == "aos-engine":
        # What the skill sends through, without the skill and the runtime: its pooled aiohttp
        # session behind the seam (`Pooled.send`, address checks on), the body read to its end.
        try:
            from yarl import URL

            from aos_skill_http.addresses import AllowList
            from aos_skill_http.connect import AddressGuard
            from aos_skill_http.transport import Pooled

            pooled = Pooled(AddressGuard(AllowList((f"127.0.0.1:{port}",))))
            target = URL(url)
            pooled.send  # noqa: B018 - the seam this client reaches into
        except (ImportError, AttributeError, TypeError) as exc:
            raise Unavailable(f"aos_skill_http internals changed ({type(exc).__name__}: {exc})") from None

        async def fetch() -> None:
            response = await pooled.send("GET", target, {}, None)
            await response.read()
            response.release()
            assert response.status == 200

        return fetch, pooled.aclose, "aos_skill_http.transport.Pooled.send (guarded): the skill's send path alone"
    if name == "aos":
        from aos_core import AgentProfile, NetworkPolicy, Policy, Runtime

        profile = AgentProfile(policy=Policy(network=NetworkPolicy(allow=(f"127.0.0.1:{port}",))))
        runtime = Runtime(profile=profile, seed=1)
        params = {"url": url}

        async def fetch() -> None:
            outcome = await runtime.aexecute("http_call", params)
            if not outcome.ok:
                raise RuntimeError(outcome.error.message if outcome.error else "failed")
            assert outcome.output["status"] == 200

        return fetch, runtime.aclose, "http_call via Runtime.aexecute, policy allows 127.0.0.1:PORT"
    raise SystemExit(f"unknown client {name!r}")


async def round_(fetch: Fetch, concurrency: int, seconds: float, cap: int) -> tuple[int, float]:
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while done < cap and time.perf_counter() < deadline:
            done += 1  # counted when started, so the cap bounds requests sent
            await fetch()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return done, time.perf_counter() - started


async def serve(args: argparse.Namespace, fetch: Fetch, description: str) -> None:
    """One round per `go` line on stdin, until stdin closes."""
    loop = asyncio.get_running_loop()
    print(json.dumps({"ready": description}), flush=True)
    while True:
        line = await loop.run_in_executor(None, sys.stdin.readline)
        if line.strip() != "go":
            return
        await round_(fetch, args.concurrency, args.pre_round, args.cap)  # reopens connections that idled out
        done, took = await round_(fetch, args.concurrency, args.seconds, args.cap)
        print(json.dumps({"rate": done / took, "requests": done}), flush=True)


async def main_async(args: argparse.Namespace) -> None:
    url = f"http://127.0.0.1:{args.port}/"
    try:
        fetch, close, description = await make(args.client, url, args.port)
    except Unavailable as exc:
        print(json.dumps({"unavailable": str(exc)}), flush=True)
        raise SystemExit(3) from None
    try:
        await fetch()
        await round_(fetch, args.concurrency, args.warmup, args.cap)
        if args.serve:
            await serve(args, fetch, description)
            return
        rates = []
        total = 0
        for _ in range(args.rounds):
            done, took = await round_(fetch, args.concurrency, args.seconds, args.cap)
            rates.append(done / took)
            total += done
    finally:
        await close()
    rows = [row(f"{args.client} c={args.concurrency}", "req/s", rates, better="higher", requests=total)]
    emit("http-client", rows, [description])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--client", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--warmup", type=float, default=0.5)
    parser.add_argument("--cap", type=int, default=50_000, help="at most this many requests per round")
    parser.add_argument("--serve", action="store_true", help="one round per 'go' line on stdin")
    parser.add_argument("--pre-round", type=float, default=0.2, help="untimed seconds before each served round")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
