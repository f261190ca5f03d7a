"""Helpers of the scale tests: real `aos worker` processes on a PostgreSQL store of the test's
own (a fresh schema, and DBOS's beside it), runs submitted and queued as `aos serve` does, and
the counting log of `scale_skills.py`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from postgres import fresh_schema_url

from aos_core import ResourceContract, Runtime

HERE = Path(__file__).resolve().parent
SERVER_TESTS = HERE.parent / "server"
_READY = re.compile(r"ready: executor (\S+),")


def plan(*steps: dict[str, Any], goal: str = "scale") -> dict[str, Any]:
    return {"goal": goal, "steps": list(steps)}


def step(step_id: str, skill: str = "count", after: tuple[str, ...] = (), **params: Any) -> dict[str, Any]:
    return {"id": step_id, "skill": skill, "params": params, "depends_on": list(after)}


class Worker:
    """One `aos worker` process."""

    def __init__(self, cluster: Cluster, index: int, args: tuple[str, ...]) -> None:
        self.cluster = cluster
        self.index = index
        self.args = args
        self.log_path = cluster.home / f"worker-{index}.log"
        env = {
            **os.environ,
            "AOS_HOME": str(cluster.home),
            "AOS_TEST_DIR": str(cluster.calls_dir),
            "PYTHONPATH": os.pathsep.join([str(HERE), str(SERVER_TESTS), os.environ.get("PYTHONPATH", "")]),
        }
        command = [
            sys.executable,
            "-m",
            "aos_core",
            "worker",
            "--store",
            cluster.url,
            "--plugin",
            "scale_skills:plugin",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [*command, *cluster.worker_args, *args], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=cluster.home
            )

    def log(self) -> str:
        return self.log_path.read_text("utf-8", "replace")

    def wait_ready(self, timeout: float = 90) -> Worker:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _READY.search(self.log()):
                return self
            if self.process.poll() is not None:
                raise AssertionError(f"aos worker exited {self.process.returncode}:\n{self.log()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"aos worker never became ready:\n{self.log()[-3000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"aos worker did not stop within {timeout} s:\n{self.log()[-3000:]}") from None


class Cluster:
    """Workers sharing one PostgreSQL store; the test's submitter and observer."""

    def __init__(self, home: Path, *worker_args: str) -> None:
        from scale_skills import plugin

        self.home = home
        self.home.mkdir(parents=True, exist_ok=True)
        self.calls_dir = home / "calls"
        self.calls_dir.mkdir(exist_ok=True)
        self.url = fresh_schema_url()
        self.worker_args = worker_args
        self.workers: list[Worker] = []
        self.runtime = Runtime(entry_points=False, plugins=[plugin], store=self.url, shared_budgets=True)
        self.store: Any = self.runtime.store
        from aos_server.dbos_queue import DEFAULT_QUEUE, dbos_client

        self.client = dbos_client(self.url)
        self.queue = DEFAULT_QUEUE

    # -- workers ---------------------------------------------------------------------------------
    def start(self, count: int = 1, *args: str) -> list[Worker]:
        started = [Worker(self, len(self.workers) + i, args) for i in range(count)]
        self.workers.extend(started)
        for worker in started:
            worker.wait_ready()
        return started

    def logs(self) -> str:
        return "".join(w.log() for w in self.workers)

    # -- runs ------------------------------------------------------------------------------------
    def submit(self, body: dict[str, Any], count: int, budgets: tuple[ResourceContract, ...] = ()) -> list[str]:
        """Record `count` runs queued and put them in the DBOS queue, as `aos serve` does."""
        from aos_server.dbos_queue import enqueue_run

        ids = []
        for i in range(count):
            run_id = f"{time.strftime('%Y%m%dT%H%M%S')}-{os.urandom(6).hex()}"
            steps = [{**s, "params": {**s["params"], "tag": f"{run_id}/{s['id']}"}} for s in body["steps"]]
            result = self.runtime.submit({**body, "steps": steps}, approvals="wait", budgets=budgets, run_id=run_id)
            assert result.error is None, result.error
            enqueue_run(self.client, self.queue, run_id)
            ids.append(run_id)
            del i
        return ids

    def statuses(self, run_ids: list[str]) -> Counter[str]:
        return Counter(self.store.load_run(r).status for r in run_ids)

    def wait(self, run_ids: list[str], done: Any = None, timeout: float = 240) -> dict[str, Any]:
        """Wait until `done(stored)` holds for every run (default: completed or failed)."""
        done = done or (lambda s: s.status in ("completed", "failed"))
        deadline = time.monotonic() + timeout
        left = list(run_ids)
        while time.monotonic() < deadline:
            left = [r for r in left if not done(self.store.load_run(r))]
            if not left:
                return {r: self.store.load_run(r) for r in run_ids}
            time.sleep(0.25)
        shown = {r: self.store.load_run(r).status for r in left[:5]}
        raise AssertionError(f"{len(left)} runs not done, e.g. {shown}:\n{self.logs()[-4000:]}")

    def calls(self) -> list[tuple[str, str, str]]:
        path = self.calls_dir / "calls.log"
        lines = path.read_text("utf-8").splitlines() if path.exists() else []
        return [tuple(line.split(" ")) for line in lines]  # type: ignore[misc]

    # -- the end ---------------------------------------------------------------------------------
    def close(self) -> None:
        for worker in self.workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGINT)
                worker.process.send_signal(signal.SIGINT)
        for worker in self.workers:
            try:
                worker.process.wait(30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait(10)
        self.client.destroy()
        schema = self.store.schema
        self.store.drop()
        import psycopg

        with psycopg.connect(self.url.split("?")[0], autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema}_dbos CASCADE")
        self.runtime.close()
