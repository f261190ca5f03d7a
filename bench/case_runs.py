"""Cases 4 and 5: the run engine with its durable trace, replay and simulation, and how they scale.

The plan: N independent steps of the trivial echo skill (`{"x": i, "s": "a"}`), so the engine
may keep up to 64 in flight (its default without `max_concurrency`) and group commits.

Case 4 measures, at 1k / 10k / 50k / 100k steps (`--sizes`), each variant in a fresh process of
its own (a "child": `case_runs.py --child VARIANT --steps N`), so that the peak memory it reports
is that variant's alone; rounds interleave sizes and variants, so every ratio compares figures
taken seconds apart:

- `sqlite`: `Runtime.run` with the SQLite store (WAL, synchronous=NORMAL: a committed step
  survives a process kill), a fresh file per run;
- `replay`: `Runtime.replay(run_id)` of the run the `sqlite` child of the same round and size
  recorded (another process: loads the trace, re-derives every step's params, re-executes the
  deterministic skill and compares outcomes, state and the canonical trace);
- `null`: `Runtime.run` with a store that keeps nothing: the engine without persistence;
- `gather`: `asyncio.gather` of `Runtime.aexecute` for the same steps under a semaphore of 64:
  same steps, concurrency and execution pipeline, no engine and no trace (what a user who wants
  no durability would write);
- `loop`: a `Runtime.execute` loop, the steps one after another (the cheapest way to run them).

Each child first runs its variant once on 200 steps (imports, caches), then times the measured
call (the call alone: the Runtime is built before the clock starts) `--repeat` times, each on a
fresh Runtime (and a fresh store file), and reports the median: one sample per round. It also
reports its peak RSS (ru_maxrss, imports and warm-up included) and its RSS just before the
measured calls.

Case 5: `Runtime.simulate` of an M-step plan of the same shape, against executing those M steps
(an `execute` loop, and `Runtime.run` with SQLite), in one process.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib import BENCH, emit, failure_tail, row, timed

VARIANTS = ("sqlite", "replay", "null", "gather", "loop")
LABELS = {
    "sqlite": "Runtime.run, SQLite trace",
    "replay": "Runtime.replay of that run",
    "null": "Runtime.run, null store (no persistence)",
    "gather": "gather(aexecute), 64 in flight, no engine",
    "loop": "execute loop",
}
WARMUP_STEPS = 200


def repeats(steps: int) -> int:
    """How many times a child times its call: enough to last ~0.5 s at small sizes, once from 50k."""
    return max(1, min(5, 20_000 // steps))


# -- the child: one variant, one size -----------------------------------------------------------


async def gather_aexecute(runtime: Any, steps: list[dict[str, Any]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(step: dict[str, Any]) -> Any:
        async with gate:
            return await runtime.aexecute(step["skill"], step["params"])

    return await asyncio.gather(*(one(s) for s in steps))


def execute_loop(runtime: Any, steps: list[dict[str, Any]]) -> list[Any]:
    return [runtime.execute(s["skill"], s["params"]) for s in steps]


def measure(variant: str, steps: int, store: Path, run_id: str | None) -> tuple[float, dict[str, Any]]:
    """(seconds, facts) of one measured call of `variant` on `steps` steps, on a fresh Runtime."""
    from benchlib import NullStore, echo_runtime, plan

    the_plan = plan(steps)
    if variant == "sqlite":
        with echo_runtime(store=store) as runtime:
            took, result = timed(lambda: runtime.run(the_plan))
            assert result.ok and len(result.outcomes) == steps, result.error
        size = sum(p.stat().st_size for p in store.parent.glob(store.name + "*"))
        return took, {"run_id": result.run_id, "db_mb": size / 1e6}
    if variant == "replay":
        assert run_id is not None
        with echo_runtime(store=store) as runtime:
            took, replay = timed(lambda: runtime.replay(run_id))
            assert replay.matched and len(replay.reexecuted) == steps, replay.error
        return took, {}
    if variant == "null":
        with echo_runtime(store=NullStore()) as runtime:
            took, result = timed(lambda: runtime.run(the_plan))
            assert result.ok and len(result.outcomes) == steps, result.error
        return took, {}
    if variant == "gather":
        with echo_runtime() as runtime:
            loop = asyncio.new_event_loop()
            try:
                took, outcomes = timed(lambda: loop.run_until_complete(gather_aexecute(runtime, the_plan["steps"], 64)))
            finally:
                loop.close()
            assert len(outcomes) == steps and all(o.ok for o in outcomes)
        return took, {}
    if variant == "loop":
        with echo_runtime() as runtime:
            took, outcomes = timed(lambda: execute_loop(runtime, the_plan["steps"]))
            assert len(outcomes) == steps and all(o.ok for o in outcomes)
        return took, {}
    raise SystemExit(f"unknown variant {variant!r}")


def child(variant: str, steps: int, repeat: int, store: Path, run_id: str | None) -> None:
    from benchlib import peak_rss_mib, rss_mib

    with tempfile.TemporaryDirectory(prefix="aos-bench-warm-") as warm:  # imports, caches
        warm_store = Path(warm) / "warm.sqlite3"
        warm_run = measure("sqlite", WARMUP_STEPS, warm_store, None)[1]["run_id"] if variant == "replay" else None
        measure(variant, WARMUP_STEPS, warm_store if variant != "sqlite" else Path(warm) / "w2.sqlite3", warm_run)
    before = rss_mib()
    seconds: list[float] = []
    facts: dict[str, Any] = {}
    for i in range(repeat):
        path = store if variant != "sqlite" or i == repeat - 1 else store.with_name(f"{store.name}.{i}")
        took, facts = measure(variant, steps, path, run_id)
        seconds.append(took)
    print(json.dumps({"seconds": seconds, "before_mib": before, "peak_mib": peak_rss_mib(), **facts}), flush=True)


# -- the parent: rounds of children -------------------------------------------------------------


def run_child(argv: list[str]) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, str(BENCH / "case_runs.py"), *argv], capture_output=True, text=True, timeout=1800, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"case_runs.py {' '.join(argv)} exited {result.returncode}: {failure_tail(result.stderr)}")
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def runs_case(sizes: list[int], rounds: int, variants: list[str], tmp: Path) -> tuple[list[dict[str, Any]], list[str]]:
    seconds: dict[tuple[str, int], list[float]] = {(v, n): [] for n in sizes for v in variants}
    peaks: dict[tuple[str, int], list[float]] = {k: [] for k in seconds}
    befores: dict[tuple[str, int], list[float]] = {k: [] for k in seconds}
    db_mb: dict[int, float] = {}
    for r in range(rounds):
        for n in sizes:
            store = tmp / f"runs-{r}-{n}.sqlite3"
            run_id = None
            for variant in variants:
                argv = ["--child", variant, "--steps", str(n), "--repeat", str(repeats(n)), "--store", str(store)]
                if variant == "replay":
                    if run_id is None:
                        raise SystemExit("the replay variant needs the sqlite variant before it")
                    argv += ["--run-id", run_id]
                data = run_child(argv)
                if variant == "sqlite":
                    run_id = data["run_id"]
                    db_mb[n] = data["db_mb"]
                seconds[variant, n].append(statistics.median(data["seconds"]))
                peaks[variant, n].append(data["peak_mib"])
                befores[variant, n].append(data["before_mib"])
            for path in tmp.glob(f"runs-{r}-{n}.sqlite3*"):
                path.unlink()
    rows = []
    for (variant, n), values in seconds.items():
        rows.append(
            row(
                f"{LABELS[variant]} [{n:,} steps]",
                "µs/step",
                [s / n * 1e6 for s in values],
                key=f"{variant}@{n}",
                variant=variant,
                steps=n,
                repeat=repeats(n),
                peak_mib=peaks[variant, n],
                before_mib=befores[variant, n],
            )
        )
    notes = [
        "each figure: one fresh process per variant, size and round; the median of its timed calls ("
        + ", ".join(f"{repeats(n)} at {n:,}" for n in sizes)
        + f") after a {WARMUP_STEPS}-step warm-up; rounds interleave sizes and variants",
        "SQLite file(s) after one run: " + ", ".join(f"{mb:.1f} MB at {n:,} steps" for n, mb in db_mb.items()),
    ]
    return rows, notes


def simulate_case(steps: int, rounds: int, tmp: Path) -> list[dict[str, Any]]:
    from benchlib import echo_runtime, plan

    the_plan = plan(steps)
    names = {
        "simulate": f"Runtime.simulate, {steps} steps",
        "loop": f"execute loop x {steps}",
        "sqlite": f"Runtime.run, {steps} steps, SQLite trace",
    }
    samples: dict[str, list[float]] = {k: [] for k in names}
    with echo_runtime(store=tmp / "simulate.sqlite3") as runtime:
        report = runtime.simulate(the_plan)
        assert report.feasible and len(report.steps) == steps, report.problems
        for _ in range(rounds):
            took, report = timed(lambda rt=runtime: rt.simulate(the_plan))
            samples["simulate"].append(took)
            took, _ = timed(lambda rt=runtime: execute_loop(rt, the_plan["steps"]))
            samples["loop"].append(took)
            took, result = timed(lambda rt=runtime: rt.run(the_plan))
            assert result.ok
            samples["sqlite"].append(took)
    return [row(names[k], "ms", [s * 1000.0 for s in v], key=k) for k, v in samples.items()]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,50000,100000", help="plan sizes of case 4")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--simulate-steps", type=int, default=1_000)
    parser.add_argument("--simulate-rounds", type=int, default=15)
    parser.add_argument("--only", choices=("runs", "simulate"))
    parser.add_argument("--child", choices=VARIANTS, help="(internal) measure one variant at --steps")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--store", type=Path)
    parser.add_argument("--run-id")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.steps, args.repeat, args.store, args.run_id)
        return
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="aos-bench-runs-") as name:
        tmp = Path(name)
        if args.only != "simulate":
            sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
            rows, notes = runs_case(sizes, args.rounds, [v for v in args.variants.split(",") if v], tmp)
            emit("runs", rows, notes, sizes=sizes, paired=True)
        if args.only != "runs":
            emit("simulate", simulate_case(args.simulate_steps, args.simulate_rounds, tmp), paired=True)


if __name__ == "__main__":
    main()
