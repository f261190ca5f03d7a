"""Case 3: `http_call` against raw async clients on the same local server, at concurrency 1 and 64.

The server (http_server.py, aiohttp) runs in its own process on 127.0.0.1; each client runs in
another fresh process (http_client.py), one after the other, so no two clients compete.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

from benchlib import BENCH, emit

# aos: http_call on its default engine; aos-httpx2: the same skill on its other engine (httpx2's own pool);
# aos-engine: the skill's send path alone (no skill, no runtime); aos-transport: its client as a plain httpx client.
CLIENTS = (
    "aos",
    "aos-httpx2",
    "aos-engine",
    "aos-transport",
    "httpx",
    "httpx2",
    "aiohttp",
    "httpx-aiohttp",
    "httpx2-aiohttp",
)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--concurrency", default="1,64")
    parser.add_argument("--clients", default=",".join(CLIENTS))
    parser.add_argument("--server", choices=("raw", "aiohttp"), default="raw")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE",)}
    for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env.pop(proxy, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"
    server = subprocess.Popen(
        [sys.executable, str(BENCH / "http_server.py"), "--kind", args.server],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    rows, notes = [], []
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        notes.append(
            f"server ({args.server}): "
            + ("an asyncio Protocol answering keep-alive GETs" if args.server == "raw" else "aiohttp web.Application")
            + " on 127.0.0.1 in its own process; one JSON body of 77 bytes"
        )
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            for client in args.clients.split(","):
                argv = [
                    sys.executable,
                    str(BENCH / "http_client.py"),
                    "--client",
                    client,
                    "--port",
                    str(port),
                    "--concurrency",
                    str(concurrency),
                    "--rounds",
                    str(args.rounds),
                    "--seconds",
                    str(args.seconds),
                ]
                result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
                if result.returncode != 0:
                    notes.append(f"{client} c={concurrency} failed: {result.stderr.strip().splitlines()[-1:]}")
                    continue
                data = json.loads(result.stdout)
                for r in data["rows"]:
                    r["client"], r["concurrency"] = client, concurrency
                    rows.append(r)
                if concurrency == 1:
                    notes.append(f"{client}: {data['notes'][0]}")
    finally:
        if server.stdin:
            server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.terminate()
            server.wait(timeout=10)
    emit("http", rows, notes)


if __name__ == "__main__":
    main()
