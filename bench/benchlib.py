"""Helpers shared by the benchmark cases: timing, statistics, rows, the trivial skill.

Each case script prints one JSON document on stdout: {"case": ..., "rows": [...], "notes": [...]}.
A row is one measured thing: {"name", "unit", "median", "min", "max", "samples", "better"},
where `better` is "lower" (times) or "higher" (rates). Ratios are computed by run.py.
"""

from __future__ import annotations

import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def row(name: str, unit: str, samples: list[float], better: str = "lower", **extra: Any) -> dict[str, Any]:
    """A measured row: median, min and max of `samples`."""
    return {
        "name": name,
        "unit": unit,
        "median": statistics.median(samples),
        "min": min(samples),
        "max": max(samples),
        "samples": samples,
        "better": better,
        **extra,
    }


def emit(case: str, rows: list[dict[str, Any]], notes: list[str] | None = None, **extra: Any) -> None:
    json.dump({"case": case, "rows": rows, "notes": notes or [], **extra}, sys.stdout)
    sys.stdout.write("\n")
    sys.stdout.flush()


def peak_rss_mib() -> float:
    """This process's peak resident set size so far (ru_maxrss), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rss_mib() -> float:
    """This process's resident set size now (VmRSS), in MiB; 0.0 where /proc is missing."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0


def spawn(argv: Sequence[str], env: Mapping[str, str], timeout: float = 1800) -> tuple[float, float, int, str]:
    """Run `argv` to its end: (wall seconds, its peak RSS in MiB, exit code, the tail of its stderr).

    The peak is the child's own ru_maxrss, read with wait4 (RUSAGE_CHILDREN would be the maximum
    over every child so far). On Linux a child's ru_maxrss also covers the image it was forked
    from, so the process calling this must stay small (the cases that call it import no
    aos_core): a bare interpreter is ~10 MiB, far below what any measured command uses.
    Stdout goes to /dev/null, stderr to a temporary file (its last 2,000 characters are returned);
    a child still running after `timeout` seconds is killed.
    """
    import tempfile
    import threading

    with tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        child = subprocess.Popen(list(argv), env=dict(env), stdout=subprocess.DEVNULL, stderr=err)
        killer = threading.Timer(timeout, child.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(child.pid, 0)
        finally:
            killer.cancel()
        took = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        tail = err.read()[-2000:].decode(errors="replace")
    return took, usage.ru_maxrss / 1024.0, child.returncode, tail


def failure_tail(stderr: str, lines: int = 3) -> str:
    """The last lines of a failed child's stderr (a traceback's file, line and error), on one line."""
    return " | ".join(line.strip() for line in stderr.strip().splitlines()[-lines:])


def calibrate(fn: Callable[[int], Any], target_s: float) -> int:
    """How many iterations of `fn(n)` take about `target_s` (at least 10)."""
    n = 10
    while True:
        started = time.perf_counter()
        fn(n)
        took = time.perf_counter() - started
        if took >= target_s / 4 or n >= 10_000_000:
            return max(10, int(n * target_s / max(took, 1e-9)))
        n *= 4


def per_call_us(fn: Callable[[int], Any], n: int) -> float:
    """Microseconds per iteration of `fn(n)` (which runs n iterations)."""
    gc.collect()
    started = time.perf_counter()
    fn(n)
    return (time.perf_counter() - started) / n * 1e6


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """(seconds, result) of one call."""
    gc.collect()
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


# -- the trivial skill every case uses -----------------------------------------------------------


def echo_body(x: int, s: str) -> dict[str, Any]:
    """The work every framework dispatches to: return its two arguments."""
    return {"x": x, "s": s}


def echo_skill(*, deterministic: bool = True) -> Any:
    """An AOS skill wrapping `echo_body`: sync, `blocking=False` (runs inline), no side effects."""
    from pydantic import BaseModel

    from aos_core import SkillMetadata

    class EchoInput(BaseModel):
        x: int
        s: str

    class EchoOutput(BaseModel):
        x: int
        s: str

    class Echo:
        metadata = SkillMetadata(
            name="echo",
            version="1.0.0",
            description="Return the parameters (benchmark skill).",
            side_effects="none",
            blocking=False,
            deterministic=deterministic,
            idempotent=True,
        )
        Input = EchoInput
        Output = EchoOutput

        def execute(self, params: EchoInput, ctx: Any) -> dict[str, Any]:
            return echo_body(params.x, params.s)

    return Echo()


def echo_runtime(**kwargs: Any) -> Any:
    """A Runtime with only the echo skill (plus aos-core's built-in plugins), seeded."""
    from aos_core import Runtime
    from aos_core.testing import FakePlugin

    skill = kwargs.pop("skill", None) or echo_skill()
    return Runtime(plugins=[FakePlugin(skills=[skill], name="bench")], entry_points=False, seed=7, **kwargs)


ECHO_PLUGIN = '''"""The echo skill of the benchmark as an installed plugin (written by bench/benchlib.py)."""
from pydantic import BaseModel

from aos_core import SkillMetadata, hookimpl


class EchoInput(BaseModel):
    x: int
    s: str


class EchoOutput(BaseModel):
    x: int
    s: str


class Echo:
    metadata = SkillMetadata(
        name="echo",
        version="1.0.0",
        description="Return the parameters (benchmark skill).",
        side_effects="none",
        blocking=False,
        deterministic=True,
        idempotent=True,
    )
    Input = EchoInput
    Output = EchoOutput

    def execute(self, params, ctx):
        return {"x": params.x, "s": params.s}


@hookimpl
def aos_register_skills(register):
    register(Echo())
'''


def write_dist(site: Path, dist: str, module: str, source: str, group: str, ep_name: str) -> None:
    """An installed distribution with one module and one entry point, written straight into `site`
    as a dist-info folder (what pip leaves behind, without pip): put `site` on PYTHONPATH."""
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{ep_name} = {module}\n")
    (info / "top_level.txt").write_text(module + "\n")
    (info / "RECORD").write_text("")


def plan(steps: int) -> dict[str, Any]:
    """A plan of `steps` independent echo steps (they may all run concurrently)."""
    return {
        "version": 1,
        "goal": f"{steps} trivial steps",
        "steps": [{"id": f"s{i}", "skill": "echo", "params": {"x": i, "s": "a"}} for i in range(steps)],
    }


class NullStore:
    """A run store that keeps nothing: the run engine without persistence (no JSON, no SQLite)."""

    location = "null"

    def create_run(
        self, run_id: str, header: dict[str, Any], goal: str, owner: str, lease_s: float, traceparent: Any = None
    ) -> None:
        pass

    def acquire(self, run_id: str, owner: str, lease_s: float) -> Any:
        raise LookupError("NullStore keeps no runs")

    def renew(self, run_id: str, owner: str, lease_s: float) -> None:
        pass

    def hold(self, run_id: str, owner: str, *holds: Any) -> None:
        pass

    def commit_steps(self, run_id: str, owner: str, records: list[dict[str, Any]]) -> None:
        pass

    def finish_run(self, run_id: str, owner: str, status: str, end: dict[str, Any] | None) -> None:
        pass

    def resolve_id(self, run_id: str) -> str:
        raise LookupError("NullStore keeps no runs")

    def load_run(self, run_id: str) -> Any:
        raise LookupError("NullStore keeps no runs")

    def list_runs(self, limit: int = 50, offset: int = 0, status: str | None = None) -> list[Any]:
        return []

    def close(self) -> None:
        pass
