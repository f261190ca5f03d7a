"""Cases 4 and 5: the run engine with its durable trace, replay, and simulation.

The plan: N independent steps of the trivial echo skill (`{"x": i, "s": "a"}`), so the engine
may keep up to 64 in flight (its default without `max_concurrency`) and group commits.

Case 4 variants, each on a fresh Runtime, interleaved round by round:
- `Runtime.run` with the SQLite store (WAL, synchronous=NORMAL: a committed step survives a
  process kill), a fresh file per round;
- `Runtime.run` with a store that keeps nothing: the same engine without persistence, which
  isolates what the durable trace costs;
- `asyncio.gather` of `Runtime.aexecute` for the same steps under a semaphore of 64: the same
  steps, same concurrency and same execution pipeline, with no engine and no trace. This is
  the baseline of the target (a user who wants no durability would write exactly this);
- a `Runtime.execute` loop: the same steps one after another, sync API, the cheapest way;
- `Runtime.replay(run_id)` of the SQLite run: loads the trace, re-derives every step's params,
  re-executes the (deterministic) skill and compares outcomes, state and the canonical trace.

Case 5: `Runtime.simulate` of an M-step plan of the same shape, against executing those M steps
(an `execute` loop, and `Runtime.run` with SQLite).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from benchlib import NullStore, echo_runtime, emit, plan, row, timed


async def gather_aexecute(runtime: Any, steps: list[dict[str, Any]], limit: int) -> list[Any]:
    gate = asyncio.Semaphore(limit)

    async def one(step: dict[str, Any]) -> Any:
        async with gate:
            return await runtime.aexecute(step["skill"], step["params"])

    return await asyncio.gather(*(one(s) for s in steps))


def execute_loop(runtime: Any, steps: list[dict[str, Any]]) -> list[Any]:
    return [runtime.execute(s["skill"], s["params"]) for s in steps]


def run_case(steps: int, rounds: int, tmp: Path) -> tuple[list[dict[str, Any]], list[str]]:
    the_plan = plan(steps)
    names = {
        "sqlite": f"Runtime.run, {steps} steps, SQLite trace",
        "null": f"Runtime.run, {steps} steps, no persistence (null store)",
        "gather": f"gather(aexecute) x {steps}, 64 in flight, no engine",
        "loop": f"execute loop x {steps}",
        "replay": f"Runtime.replay of the {steps}-step run",
    }
    samples: dict[str, list[float]] = {k: [] for k in names}
    notes = []
    for r in range(rounds):
        with echo_runtime(store=tmp / f"runs-{r}.sqlite3") as runtime:
            took, result = timed(lambda rt=runtime: rt.run(the_plan))
            assert result.ok and len(result.outcomes) == steps, result.error
            samples["sqlite"].append(took)
            run_id = result.run_id
            took, replay = timed(lambda rt=runtime, rid=run_id: rt.replay(rid))
            assert replay.matched and len(replay.reexecuted) == steps, replay.error
            samples["replay"].append(took)
            if r == 0:
                size = sum(p.stat().st_size for p in tmp.glob(f"runs-{r}.sqlite3*"))
                notes.append(f"SQLite file(s) after one {steps}-step run: {size / 1e6:.1f} MB")
        with echo_runtime(store=NullStore()) as runtime:
            took, result = timed(lambda rt=runtime: rt.run(the_plan))
            assert result.ok and len(result.outcomes) == steps, result.error
            samples["null"].append(took)
        with echo_runtime() as runtime:
            loop = asyncio.new_event_loop()
            took, outcomes = timed(
                lambda rt=runtime, lp=loop: lp.run_until_complete(gather_aexecute(rt, the_plan["steps"], 64))
            )
            loop.close()
            assert all(o.ok for o in outcomes)
            samples["gather"].append(took)
        with echo_runtime() as runtime:
            took, outcomes = timed(lambda rt=runtime: execute_loop(rt, the_plan["steps"]))
            assert all(o.ok for o in outcomes)
            samples["loop"].append(took)
    rows = [row(names[k], "ms", [s * 1000.0 for s in v], key=k) for k, v in samples.items()]
    return rows, notes


def simulate_case(steps: int, rounds: int, tmp: Path) -> list[dict[str, Any]]:
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
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--simulate-steps", type=int, default=1_000)
    parser.add_argument("--simulate-rounds", type=int, default=15)
    parser.add_argument("--only", choices=("runs", "simulate"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="aos-bench-runs-") as name:
        tmp = Path(name)
        if args.only != "simulate":
            rows, notes = run_case(args.steps, args.rounds, tmp)
            emit("runs", rows, notes)
        if args.only != "runs":
            emit("simulate", simulate_case(args.simulate_steps, args.simulate_rounds, tmp))


if __name__ == "__main__":
    main()
