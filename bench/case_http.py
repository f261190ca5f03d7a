"""Case 3: `http_call` against raw async clients on the same local server, at concurrency 1 and 64.

The server (http_server.py) runs in its own process on 127.0.0.1. For each concurrency, every
client runs in a fresh process of its own (http_client.py --serve), started and warmed up one
after the other; then rounds: each round asks each client in turn for one timed round, so only
one client sends at a time and a round's ratios compare figures taken seconds apart (run.py
takes the median of the per-round ratios). A client that fails to start is started once more;
its error (file, line, message) is kept in the notes.

Clients (`--clients`):
- `aos`: `http_call` through `Runtime.aexecute`, a policy allowing 127.0.0.1:PORT;
- `aos-engine` (diagnostic): the path the skill sends through, alone (no skill, no runtime); it
  reaches into aos_skill_http's internals, and reports itself unavailable when they change;
- `aiohttp`: a raw `aiohttp.ClientSession` (the reference of issue 21);
- `httpx`, `httpx2`: raw `AsyncClient`s, as peers.
More on request: `httpx-aiohttp`, `httpx2-aiohttp`.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from typing import IO, Any

from benchlib import BENCH, emit, failure_tail, row

CLIENTS = ("aos", "aos-engine", "aiohttp", "httpx", "httpx2")


class Client:
    """One client process at one concurrency, driven round by round."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop()
        self.process = subprocess.Popen(
            argv, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, text=True
        )

    def answer(self) -> dict[str, Any] | None:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        return json.loads(line) if line.strip() else None

    def ask(self) -> dict[str, Any] | None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        return self.answer()

    def error(self) -> str:
        self.stop()
        self.stderr.seek(0)
        text = failure_tail(self.stderr.read().decode(errors="replace")) or f"exit {self.process.returncode}"
        self.stderr.close()
        return text

    def stop(self) -> None:
        if self.process.stdin and not self.process.stdin.closed:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        if self.process.stdout and not self.process.stdout.closed:
            self.process.stdout.close()

    def close(self) -> None:
        self.stop()
        self.stderr.close()


def start(
    name: str, concurrency: int, port: int, args: argparse.Namespace, env: dict[str, str], notes: list[str]
) -> Client | None:
    argv = [
        sys.executable,
        str(BENCH / "http_client.py"),
        "--serve",
        "--client",
        name,
        "--port",
        str(port),
        "--concurrency",
        str(concurrency),
        "--seconds",
        str(args.seconds),
    ]
    for attempt in (1, 2):
        client = Client(name, argv, env)
        ready = client.answer()
        if ready and "ready" in ready:
            if concurrency == min(int(c) for c in args.concurrency.split(",")):
                notes.append(f"{name}: {ready['ready']}")
            return client
        if ready and "unavailable" in ready:
            client.close()
            notes.append(f"{name} c={concurrency} not measured: {ready['unavailable']}")
            return None
        error = client.error()
        notes.append(f"{name} c={concurrency} failed to start (attempt {attempt}): {error}")
    return None


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
    rows: list[dict[str, Any]] = []
    notes: list[str] = []
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        notes.append(
            f"server ({args.server}): "
            + ("an asyncio Protocol answering keep-alive GETs" if args.server == "raw" else "aiohttp web.Application")
            + f" on 127.0.0.1 in its own process; one JSON body of 77 bytes; {args.rounds} rounds of {args.seconds} s"
            " per client, interleaved"
        )
        for concurrency in (int(c) for c in args.concurrency.split(",")):
            clients: list[Client] = []
            try:
                for name in args.clients.split(","):
                    client = start(name, concurrency, port, args, env, notes)
                    if client is not None:
                        clients.append(client)
                rates: dict[str, list[float]] = {c.name: [] for c in clients}
                requests: dict[str, int] = dict.fromkeys(rates, 0)
                for _ in range(args.rounds):
                    for client in list(clients):
                        answer = client.ask()
                        if answer is None:
                            notes.append(f"{client.name} c={concurrency} failed mid-run: {client.error()}")
                            clients.remove(client)
                            del rates[client.name]
                            continue
                        rates[client.name].append(answer["rate"])
                        requests[client.name] += answer["requests"]
            finally:
                for client in clients:
                    client.close()
            for name, values in rates.items():
                rows.append(
                    row(
                        f"{name} c={concurrency}",
                        "req/s",
                        values,
                        better="higher",
                        key=f"{name}@{concurrency}",
                        client=name,
                        concurrency=concurrency,
                        requests=requests[name],
                    )
                )
    finally:
        if server.stdin:
            server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.terminate()
            server.wait(timeout=10)
    emit("http", rows, notes, paired=True)


if __name__ == "__main__":
    main()
