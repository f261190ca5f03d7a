"""Helpers of the server tests: a real `aos serve` in a subprocess on 127.0.0.1 (a free port it picks), with the test skills
of `fake_skills.py`, its own AOS_HOME, and keys made through the server's own key store."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from aos_core import ResourceContract, Runtime
from aos_server.db import Database
from aos_server.keys import KeyStore

HERE = Path(__file__).resolve().parent
_LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class ServerProcess:
    """One `aos serve`, started and restarted on the same home and store."""

    def __init__(self, home: Path, *args: str) -> None:
        self.home = home
        self.args = args
        self.store = home / "runs.sqlite3"
        self.calls_dir = home / "calls"
        self.calls_dir.mkdir(parents=True, exist_ok=True)
        self.process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.starts = 0
        with Runtime(entry_points=False, store=self.store) as runtime:
            runtime.store  # noqa: B018 - the core's schema first, then the server's tables
        self.keys = KeyStore(Database(self.store))
        self.admin = self.key("admin", "admin")

    # -- keys ------------------------------------------------------------------------------------
    def key(
        self, name: str, scope: str = "run", contract: ResourceContract | None = None, rate: float | None = None
    ) -> str:
        return self.keys.create(name, scope, contract, rate)[1]  # type: ignore[arg-type]

    # -- the process -----------------------------------------------------------------------------
    @property
    def log_path(self) -> Path:
        return self.home / f"server-{self.starts}.log"

    def log(self) -> str:
        return "".join(p.read_text("utf-8", "replace") for p in sorted(self.home.glob("server-*.log")))

    def start(self, *extra: str, timeout: float = 60) -> ServerProcess:
        self.starts += 1
        env = {
            **os.environ,
            "AOS_HOME": str(self.home),
            "AOS_TEST_DIR": str(self.calls_dir),
            "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")]),
        }
        command = [sys.executable, "-m", "aos_core", "serve", "--port", "0", "--store", str(self.store)]
        command += ["--plugin", "fake_skills:plugin", *self.args, *extra]
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.home)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = _LISTENING.search(self.log_path.read_text("utf-8", "replace"))
            if found:
                self.port = int(found.group(1))
                break
            if self.process.poll() is not None:
                raise AssertionError(f"aos serve exited {self.process.returncode}:\n{self.log()[-3000:]}")
            time.sleep(0.05)
        else:
            raise AssertionError(f"aos serve did not start:\n{self.log()[-3000:]}")
        self.wait_ready(deadline - time.monotonic())
        return self

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/readyz", timeout=5).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"aos serve never became ready:\n{self.log()[-3000:]}")

    def stop(self, sig: int | None = signal.SIGTERM, timeout: float = 60) -> int:
        """Signal the server (None: it was signalled already) and wait for it; its exit status."""
        assert self.process is not None
        if sig is not None and self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise AssertionError(f"aos serve did not stop within {timeout} s:\n{self.log()[-3000:]}") from None

    def kill(self) -> None:
        """Stop without a drain (the end of a test): the server and its workers."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.send_signal(signal.SIGINT)  # a second signal: stop now
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    # -- talking to it ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str | None = None, **kwargs: Any) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kwargs)

    def calls(self) -> list[str]:
        """Lines of calls.log: "skill step pid", one per call made by a test skill."""
        path = self.calls_dir / "calls.log"
        return path.read_text("utf-8").splitlines() if path.exists() else []

    def wait_for(self, client: httpx.Client, run_id: str, *statuses: str, timeout: float = 60) -> dict[str, Any]:
        """Poll GET /v1/runs/ID until its status is one of `statuses`; the run's view."""
        deadline = time.monotonic() + timeout
        view: dict[str, Any] = {}
        while time.monotonic() < deadline:
            view = client.get(f"/v1/runs/{run_id}").json()
            if view.get("status") in statuses:
                return view
            time.sleep(0.05)
        raise AssertionError(f"run {run_id} is {view.get('status')}, not {statuses}:\n{self.log()[-3000:]}")


def plan(*steps: dict[str, Any], goal: str = "test") -> dict[str, Any]:
    return {"goal": goal, "steps": list(steps)}


def step(step_id: str, skill: str = "note", **params: Any) -> dict[str, Any]:
    depends = params.pop("depends_on", [])
    return {"id": step_id, "skill": skill, "params": params, "depends_on": depends}
