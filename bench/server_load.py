"""The load client of case 6: C concurrent clients (aiohttp, one keep-alive connection each) send
one request after another to one URL for a fixed time; prints throughput and latency quantiles.

    python server_load.py --url URL --body JSON --key KEY --concurrency 16 --seconds 2 --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

import aiohttp


async def _round(url: str, body: bytes, headers: dict[str, str], concurrency: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    connector = aiohttp.TCPConnector(limit=concurrency, force_close=False)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        stop_at = time.perf_counter() + seconds

        async def client() -> None:
            nonlocal failures
            while time.perf_counter() < stop_at:
                began = time.perf_counter()
                async with session.post(url, data=body) as response:
                    await response.read()
                    if response.status >= 400:
                        failures += 1
                latencies.append(time.perf_counter() - began)

        began = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        took = time.perf_counter() - began
    latencies.sort()
    return {
        "rate": len(latencies) / took,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000,
        "requests": len(latencies),
        "failures": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--body", required=True)
    parser.add_argument("--key", default="")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    headers = {"Content-Type": "application/json", **({"X-API-Key": args.key} if args.key else {})}
    rounds = [
        asyncio.run(_round(args.url, args.body.encode(), headers, args.concurrency, args.seconds))
        for _ in range(args.rounds)
    ]
    print(json.dumps(rounds))


if __name__ == "__main__":
    main()
