"""Case 11: runs across `aos worker` processes on PostgreSQL, beside the single-process SQLite
engine, same plan, same run.

Runs per second and steps per second of N runs of one small plan (5 `json_transform` steps in a
chain): executed by 1, 2 and 4 `aos worker` processes (DBOS queue, `--concurrency` runs each) on
a PostgreSQL store of its own (a fresh schema on AOS_BENCH_POSTGRES, default the machine's
postgresql://postgres@127.0.0.1:5432/test), and by one process on an SQLite store running the
same runs `concurrency` at a time (`Runtime.arun`, as one worker of `aos serve` does). A round
times, for each variant, from the first run queued (workers already up) to the last one
completed. Never run in CI. Network traffic: 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from benchlib import emit, row

STEPS = 5
PG = os.environ.get("AOS_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _plan() -> dict[str, Any]:
    steps = []
    for i in range(STEPS):
        params: dict[str, Any] = {"expression": "a", "data": {"a": i}}
        steps.append(
            {"id": f"s{i}", "skill": "json_transform", "params": params, "depends_on": [f"s{i - 1}"] if i else []}
        )
    return {"goal": "bench", "steps": steps}


def _sqlite(runs: int, concurrency: int, home: Path) -> float:
    from aos_core import Runtime

    async def go(runtime: Any) -> float:
        gate = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with gate:
                result = await runtime.arun(_plan())
                assert result.status == "completed", result.status

        began = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(runs)))
        return time.perf_counter() - began

    with Runtime(store=home / "runs.sqlite3") as runtime:
        return runtime._loop.run(go(runtime))  # the runtime's own loop, as Runtime.run uses


def _workers(count: int, url: str, concurrency: int, home: Path) -> list[subprocess.Popen[bytes]]:
    env = {**os.environ, "AOS_HOME": str(home)}
    made = []
    for i in range(count):
        log = open(home / f"worker-{count}-{i}.log", "wb")  # noqa: SIM115 - closed with the process
        made.append(
            subprocess.Popen(
                [sys.executable, "-m", "aos_core", "worker", "--store", url, "--concurrency", str(concurrency)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
    deadline = time.monotonic() + 120
    for i in range(count):
        path = home / f"worker-{count}-{i}.log"
        while "ready: executor" not in path.read_text("utf-8", "replace"):
            if time.monotonic() > deadline or made[i].poll() is not None:
                raise SystemExit(f"worker did not start: {path.read_text('utf-8', 'replace')[-800:]}")
            time.sleep(0.05)
    return made


def _postgres(runs: int, workers: int, concurrency: int, home: Path) -> float:
    import psycopg

    from aos_core import Runtime
    from aos_server.dbos_queue import DEFAULT_QUEUE, dbos_client, enqueue_run

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    url = f"{PG}?schema={schema}"
    runtime = Runtime(store=url, shared_budgets=True)
    client = dbos_client(url)
    procs = _workers(workers, url, concurrency, home)
    try:
        ids = [f"b-{uuid.uuid4().hex}" for _ in range(runs)]
        for run_id in ids:
            assert runtime.submit(_plan(), run_id=run_id).error is None
        began = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda r: enqueue_run(client, DEFAULT_QUEUE, r), ids))
        with psycopg.connect(PG) as conn:
            while True:
                done = conn.execute(f"SELECT count(*) FROM {schema}.run_state WHERE status='completed'").fetchone()
                conn.commit()
                if done and done[0] >= runs:
                    break
                time.sleep(0.02)
        return time.perf_counter() - began
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(60)
        client.destroy()
        runtime.close()
        with psycopg.connect(PG, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            conn.execute(f"DROP SCHEMA IF EXISTS {schema}_dbos CASCADE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", default="1,2,4")
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    seconds: dict[str, list[float]] = {}
    notes = [
        f"{args.runs} runs of {STEPS} json_transform steps, {args.concurrency} runs at once per process, "
        f"{os.cpu_count()} cores; PostgreSQL at {PG.split('@')[-1]}"
    ]
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            seconds.setdefault("SQLite, one process", []).append(_sqlite(args.runs, args.concurrency, Path(tmp)))
        for count in counts:
            with tempfile.TemporaryDirectory() as tmp:
                took = _postgres(args.runs, count, args.concurrency, Path(tmp))
            seconds.setdefault(f"PostgreSQL, {count} worker{'s' if count > 1 else ''}", []).append(took)
    rows = []
    for name, samples in seconds.items():
        rows.append(row(f"{name}: runs/s", "runs/s", [args.runs / s for s in samples], better="higher", variant=name))
        rows.append(
            row(f"{name}: steps/s", "steps/s", [args.runs * STEPS / s for s in samples], better="higher", variant=name)
        )
    emit("11", rows, notes)


if __name__ == "__main__":
    main()
