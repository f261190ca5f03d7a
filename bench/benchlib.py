"""Helpers shared by the benchmark cases: timing, statistics, rows, the trivial skill.

Each case script prints one JSON document on stdout: {"case": ..., "rows": [...], "notes": [...]}.
A row is one measured thing: {"name", "unit", "median", "min", "max", "samples", "better"},
where `better` is "lower" (times) or "higher" (rates). Ratios are computed by run.py.
"""

from __future__ import annotations

import gc
import json
import statistics
import sys
import time
from collections.abc import Callable
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
