"""Case 6: peak memory of the command line, `aos run PLAN` and `aos replay RUN`, at 50k and 100k steps.

Each command is a fresh process of the bench venv's `aos`, as a user runs it (no `--json`: the
default rendering, sent to /dev/null); its peak memory is its own ru_maxrss, read with wait4 by
this script, which imports no aos_core and so stays small (a child's ru_maxrss on Linux also
covers the image it was forked from; see benchlib.spawn).

The plan: N independent steps of the trivial `echo` skill (`{"x": i, "s": "a"}`), the plan of
case 4. `echo` comes from a one-module plugin, `aos-bench-echo`, written as a dist-info folder
into a throwaway directory on PYTHONPATH (the way case 2 installs its dummy plugins): it is
discovered through its entry point like any installed plugin, and the bench venv stays as it
is for the other cases. `json_transform` would need no plugin of our own, but its JMESPath
search adds work per step that is not the engine's, and its parameters are larger.

A 1,000-step run and its replay are measured too: what the commands cost before the steps
(interpreter, imports, discovery, a Runtime), so that KiB per step is (peak at N - peak at 1k) /
(N - 1k). `aos replay` replays the run `aos run` recorded in the same round (`aos runs --json`
gives its id); every round uses fresh store files under a fresh AOS_HOME.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchlib import ECHO_PLUGIN, emit, failure_tail, row, spawn, write_dist

BASE_STEPS = 1_000


def write_plan(path: Path, steps: int) -> None:
    body = ",".join(f'{{"id":"s{i}","skill":"echo","params":{{"x":{i},"s":"a"}}}}' for i in range(steps))
    path.write_text(f'{{"version":1,"goal":"{steps} trivial steps","steps":[{body}]}}')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="50000,100000")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    sizes = [BASE_STEPS, *(int(s) for s in args.sizes.split(",") if s.strip())]
    aos = str(Path(sys.executable).parent / "aos")
    notes: list[str] = []
    peaks: dict[tuple[str, int], list[float]] = {(c, n): [] for n in sizes for c in ("run", "replay")}
    walls: dict[tuple[str, int], list[float]] = {k: [] for k in peaks}
    with tempfile.TemporaryDirectory(prefix="aos-bench-peak-") as name:
        tmp = Path(name)
        site = tmp / "site"
        site.mkdir()
        write_dist(site, "aos-bench-echo", "aos_bench_echo", ECHO_PLUGIN, "aos", "bench-echo")
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "AOS_STORE")}
        env.update(PYTHONPATH=str(site), AOS_HOME=str(tmp / "home"))
        for n in sizes:
            write_plan(tmp / f"plan-{n}.json", n)
        # Warm-up: bytecode caches, the discovery cache; and a check that echo is discovered.
        warm = tmp / "warm.sqlite3"
        took, peak, code, err = spawn([aos, "run", str(tmp / f"plan-{BASE_STEPS}.json"), "--store", str(warm)], env)
        if code != 0:
            raise SystemExit(f"aos run failed ({code}): {failure_tail(err)}")
        for r in range(args.rounds):
            for n in sizes:
                store = tmp / f"runs-{r}-{n}.sqlite3"
                took, peak, code, err = spawn([aos, "run", str(tmp / f"plan-{n}.json"), "--store", str(store)], env)
                if code != 0:
                    raise SystemExit(f"aos run ({n} steps) failed ({code}): {failure_tail(err)}")
                peaks["run", n].append(peak)
                walls["run", n].append(took)
                listed = subprocess.run(
                    [aos, "runs", "--json", "--limit", "1", "--store", str(store)],
                    env=env,
                    capture_output=True,
                    text=True,
                    check=True,
                )
                run_id = json.loads(listed.stdout)["runs"][0]["run_id"]
                took, peak, code, err = spawn([aos, "replay", run_id, "--store", str(store)], env)
                if code != 0:
                    raise SystemExit(f"aos replay ({n} steps) failed ({code}): {failure_tail(err)}")
                peaks["replay", n].append(peak)
                walls["replay", n].append(took)
                if r == 0 and n == sizes[-1]:
                    size = sum(p.stat().st_size for p in tmp.glob(store.name + "*"))
                    notes.append(f"SQLite file(s) after the {n:,}-step run: {size / 1e6:.0f} MB")
                for path in tmp.glob(store.name + "*"):
                    path.unlink()
    rows: list[dict[str, Any]] = []
    for (command, n), values in peaks.items():
        base = peaks[command, BASE_STEPS]
        per_step = (
            [(v - b) * 1024 / (n - BASE_STEPS) for v, b in zip(values, base, strict=True)] if n > BASE_STEPS else []
        )
        label = "aos run PLAN" if command == "run" else "aos replay RUN"
        rows.append(
            row(
                f"{label} [{n:,} steps]",
                "MiB",
                values,
                key=f"{command}@{n}",
                command=command,
                steps=n,
                kib_per_step=per_step,
                seconds=walls[command, n],
            )
        )
    notes.insert(
        0,
        f"peak RSS (ru_maxrss) of each command's process; {args.rounds} round(s); KiB per step = (peak - peak at "
        f"{BASE_STEPS:,} steps) / (steps - {BASE_STEPS:,}); wall seconds include the preflight (aos run) and the "
        "rendering",
    )
    emit("peak", rows, notes, paired=True)


if __name__ == "__main__":
    main()
