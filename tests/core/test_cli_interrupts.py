"""Ctrl-C, SIGTERM and live progress, driven as a person meets them: the real `aos` in a real
pseudo-terminal (tests/support/terminal.py), against a real local HTTP server whose answers take
a while."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from terminal import Terminal

pytestmark = [pytest.mark.network, pytest.mark.slow]


class SlowServer:
    """Answers every request after `delay` seconds; counts the requests per path."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.hits: dict[str, int] = {}
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.hits[self.path] = server.hits.get(self.path, 0) + 1
                time.sleep(server.delay)
                body = json.dumps({"path": self.path}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def slow() -> Iterator[SlowServer]:
    server = SlowServer(delay=1.5)
    yield server
    server.close()


def slow_plan(tmp_path: Path, port: int) -> Path:
    """Three GETs, one after the other, each taking the server's delay."""
    steps = []
    for i, name in enumerate(("first", "second", "third")):
        step: dict[str, Any] = {"id": name, "skill": "http_call", "params": {"url": f"http://127.0.0.1:{port}/{name}"}}
        if i:
            step["depends_on"] = [steps[-1]["id"]]
        steps.append(step)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"version": 1, "goal": "three slow fetches", "steps": steps}))
    return path


def aos_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "aos_core", *args]


def env() -> dict[str, str]:
    return {**os.environ, "TERM": "xterm", "COLUMNS": "120"}


def aos(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(aos_argv(*args), capture_output=True, text=True, timeout=120, env=env(), check=False)


def test_ctrl_c_during_a_run_records_it_interrupted_prints_the_hint_and_exits_130(
    tmp_path: Path, slow: SlowServer
) -> None:
    """Progress shows on the terminal; Ctrl-C after the first step: exit 130, the resume hint, no
    traceback or asyncio noise; the run is resumable and its resume does not run `first` again."""
    plan = slow_plan(tmp_path, slow.port)
    allow = ["--allow-net", f"127.0.0.1:{slow.port}"]
    term = Terminal(aos_argv("run", str(plan), *allow), env())
    term.read_until("1/3 steps done", timeout=60)  # the live display, drawn by rich
    term.ctrl_c()
    code = term.wait()
    shown = term.text
    assert code == 130, shown
    run_id = json.loads(aos("runs", "--json").stdout)["runs"][0]["run_id"]
    assert f"interrupted: run {run_id}; resume with: aos run --resume {run_id}" in shown
    for noise in ("Traceback", "Aborted!", "Task was destroyed", "KeyboardInterrupt"):
        assert noise not in shown, shown
    listed = json.loads(aos("runs", "--json").stdout)["runs"][0]
    assert (listed["status"], listed["committed"]) == ("interrupted", 1)
    resumed = aos("run", "--resume", run_id, *allow, "--json")
    assert resumed.returncode == 0, resumed.stderr
    result = json.loads(resumed.stdout)
    assert result["status"] == "completed" and result["reused"] == ["first"]
    assert slow.hits["/first"] == 1


def test_sigterm_during_a_run_exits_143_and_prints_the_runs_status_as_json(tmp_path: Path, slow: SlowServer) -> None:
    """No terminal, --json: stdout is the run's status object, stderr the one-line hint."""
    plan = slow_plan(tmp_path, slow.port)
    proc = subprocess.Popen(
        aos_argv("run", str(plan), "--allow-net", f"127.0.0.1:{slow.port}", "--json"),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(),
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while not slow.hits and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    status = json.loads(out)
    assert (status["ok"], status["status"], status["error"]["code"]) == (False, "interrupted", "TERMINATED")
    assert status["resume"] == f"aos run --resume {status['run_id']}"
    assert err == f"aos: interrupted: run {status['run_id']}; resume with: aos run --resume {status['run_id']}\n"


def test_ctrl_c_during_exec_exits_130_with_one_line(slow: SlowServer) -> None:
    slow.delay = 20
    url = f"http://127.0.0.1:{slow.port}/long"
    term = Terminal(aos_argv("exec", "http_call", "--params", json.dumps({"url": url}), "--allow-net",
                             f"127.0.0.1:{slow.port}"), env())  # fmt: skip
    deadline = time.monotonic() + 30
    while not slow.hits and time.monotonic() < deadline:
        time.sleep(0.05)
    term.ctrl_c()
    assert term.wait(timeout=30) == 130
    assert term.text.strip().endswith("aos: interrupted: aos exec http_call stopped before it finished"), term.text
    assert "Traceback" not in term.text


def test_no_progress_when_stderr_is_not_a_terminal_and_forced_with_progress(tmp_path: Path, slow: SlowServer) -> None:
    """Piped: nothing on stderr; --progress draws it anyway; --no-progress on a terminal draws nothing."""
    slow.delay = 0.0
    plan = slow_plan(tmp_path, slow.port)
    allow = ("--allow-net", f"127.0.0.1:{slow.port}")
    piped = aos("run", str(plan), *allow)
    assert piped.returncode == 0 and piped.stderr == ""
    forced = aos("run", str(plan), *allow, "--progress")
    assert "3/3 steps done" in forced.stderr and "completed" in forced.stderr
    term = Terminal(aos_argv("run", str(plan), *allow, "--no-progress"), env())
    assert term.wait() == 0
    assert "steps done" not in term.text
    run_id = json.loads(aos("runs", "--json").stdout)["runs"][0]["run_id"]
    replayed = aos("replay", run_id, "--progress")
    assert replayed.returncode == 0 and f"replay {run_id}: 3/3 steps done" in replayed.stderr


def test_a_refused_resume_leaves_only_its_error_line(tmp_path: Path) -> None:
    """No progress line for a run that never started: the error says all there is."""
    refused = aos("run", "--resume", "no-such-run", "--progress")
    assert refused.returncode == 2
    assert "steps done" not in refused.stderr
    assert refused.stderr.strip().splitlines() == [
        line for line in refused.stderr.strip().splitlines() if line.startswith("aos: ")
    ]
