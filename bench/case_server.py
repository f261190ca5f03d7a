"""Case 10: `aos serve` under load, beside a bare FastAPI app that does nothing, in the same run.

Submits per second and p50/p99 latency of `POST /v1/runs` (a one-step json_transform plan) and
`POST /v1/skills/json_transform/execute` at 1, 16 and 64 concurrent clients. `aos serve` runs as
a user would start it (its default 2 workers, who execute the submitted runs meanwhile, on the
same cores), with an admin key without a rate limit and no access log; the bare app
(bare_server.py) answers the same paths on uvicorn with the same settings. Each load client
(server_load.py, aiohttp) runs in its own process; every variant alternates with its yardstick
round by round. Network traffic: 127.0.0.1 only, each round bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchlib import BENCH, emit, row

PLAN = {"plan": {"steps": [{"id": "a", "skill": "json_transform", "params": {"expression": "a", "data": {"a": 1}}}]}}
CALL = {"params": {"expression": "a", "data": {"a": 1}}}
ENDPOINTS = {
    "POST /v1/runs": ("/v1/runs", PLAN),
    "POST /v1/skills/json_transform/execute": ("/v1/skills/json_transform/execute", CALL),
}


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for proxy in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        env.pop(proxy, None)
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1"
    env["AOS_HOME"] = str(home)
    return env


def _start_aos(home: Path, workers: int) -> tuple[subprocess.Popen[bytes], str, str]:
    env = _env(home)
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "aos_core",
            "keys",
            "create",
            "bench",
            "--scope",
            "admin",
            "--rate-limit",
            "0",
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    key = json.loads(made.stdout)["secret"]
    log = open(home / "server.log", "wb")  # noqa: SIM115 - the server writes it for its whole life
    server = subprocess.Popen(
        [sys.executable, "-m", "aos_core", "serve", "--port", "0", "--workers", str(workers), "--no-access-log"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://127\.0\.0\.1:\d+)", (home / "server.log").read_text())
        if found:
            url = found.group(1)
            try:
                with urllib.request.urlopen(f"{url}/readyz", timeout=5) as answer:
                    if answer.status == 200:
                        return server, url, key
            except OSError:
                pass
        time.sleep(0.1)
    server.kill()
    raise SystemExit(f"aos serve did not start: {(home / 'server.log').read_text()[-2000:]}")


def _load(
    url: str, body: dict[str, Any], key: str, concurrency: int, seconds: float, env: dict[str, str]
) -> dict[str, Any]:
    argv = [
        sys.executable,
        str(BENCH / "server_load.py"),
        "--url",
        url,
        "--body",
        json.dumps(body),
        "--key",
        key,
        "--concurrency",
        str(concurrency),
        "--seconds",
        str(seconds),
        "--rounds",
        "1",
    ]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=True)
    result: dict[str, Any] = json.loads(done.stdout)[0]
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--concurrency", default="1,16,64")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="aos-bench-server-"))
    env = _env(home)
    bare = subprocess.Popen(
        [sys.executable, str(BENCH / "bare_server.py")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    aos = None
    rows, notes = [], []
    try:
        assert bare.stdout is not None
        bare_url = f"http://127.0.0.1:{int(bare.stdout.readline())}"
        aos, aos_url, key = _start_aos(home, args.workers)
        for endpoint, (path, body) in ENDPOINTS.items():  # execute first: no backlog of runs yet
            for concurrency in (int(c) for c in args.concurrency.split(",")):
                measured: dict[str, list[dict[str, Any]]] = {"aos serve": [], "bare FastAPI": []}
                for _ in range(args.rounds):
                    measured["aos serve"].append(_load(aos_url + path, body, key, concurrency, args.seconds, env))
                    measured["bare FastAPI"].append(_load(bare_url + path, body, "", concurrency, args.seconds, env))
                for target, results in measured.items():
                    failures = sum(r["failures"] for r in results)
                    rows.append(
                        row(
                            f"{target} {endpoint} c={concurrency}",
                            "req/s",
                            [r["rate"] for r in results],
                            better="higher",
                            target=target,
                            endpoint=endpoint,
                            concurrency=concurrency,
                            p50_ms=statistics.median(r["p50_ms"] for r in results),
                            p99_ms=statistics.median(r["p99_ms"] for r in results),
                            failures=failures,
                        )
                    )
        with urllib.request.urlopen(f"{aos_url}/readyz", timeout=10) as answer:  # runs the workers had not reached
            queued = json.loads(answer.read())["queued"]
        notes.append(
            f"aos serve: {args.workers} workers, admin key without a rate limit, no access log; SQLite store in a "
            f"temporary directory; {queued} submitted runs still queued when the load stopped (the workers execute "
            "them on the same cores meanwhile)"
        )
        notes.append("bare FastAPI: the same two paths on uvicorn, reading the JSON body and answering a constant")
        notes.append(
            f"load: server_load.py (aiohttp), one keep-alive connection per client, {args.seconds:g} s per round, "
            f"{args.rounds} rounds alternating aos serve and the bare app; p50/p99 are medians over rounds"
        )
    finally:
        if bare.stdin:
            bare.stdin.close()
        bare.wait(timeout=30)
        if aos is not None:
            aos.send_signal(signal.SIGTERM)
            try:
                aos.wait(timeout=60)
            except subprocess.TimeoutExpired:
                aos.kill()
        shutil.rmtree(home, ignore_errors=True)
    emit("server", rows, notes)


if __name__ == "__main__":
    main()
