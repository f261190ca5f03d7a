"""Case 8: building a `Runtime` with 1, 100 and 1,000 skills (ms, lower is better).

Each figure is one fresh process (`case_skills.py --child N`): it defines N skills (each its
own class with its own input and output models, three fields each, like a small real skill),
builds a first `Runtime` over one unrelated skill (imports, the built-in plugins' first use),
then times `Runtime(plugins=[FakePlugin(skills=the N skills)], entry_points=False)`, the
registry, checks and whatever else the constructor does for those skills, and closes it.

Why a fresh process per figure rather than rounds in one process: the first `Runtime` over a
set of skill classes is what a command or a service start pays; a second one over the same
classes in the same process may reuse what the first left behind (pydantic keeps per-class state,
and a lazy schema would be generated once), so a loop in one process could measure the cheap
repeat, not the start. Defining the classes is not timed: it is the plugins' import, paid
whether or not a Runtime is built. Rounds interleave the three sizes.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

from benchlib import BENCH, emit, failure_tail, row


def make_skills(count: int, tag: str) -> list[Any]:
    from pydantic import BaseModel, Field

    from aos_core import SkillMetadata

    skills = []
    for i in range(count):

        class Input(BaseModel):
            text: str = Field(default="", description="Some text.")
            count: int = 1
            flag: bool = False

        class Output(BaseModel):
            text: str
            count: int
            flag: bool

        class Skill:
            metadata = SkillMetadata(
                name=f"{tag}_{i:04d}",
                version="1.0.0",
                description=f"Benchmark skill {i}.",
                side_effects="none",
                blocking=False,
                deterministic=True,
                idempotent=True,
            )

            def execute(self, params: Any, ctx: Any) -> dict[str, Any]:
                return params.model_dump()

        Skill.Input, Skill.Output = Input, Output  # type: ignore[attr-defined]
        skills.append(Skill())
    return skills


def child(count: int) -> None:
    import gc

    from aos_core import Runtime
    from aos_core.testing import FakePlugin

    warm = Runtime(plugins=[FakePlugin(skills=make_skills(1, "warm"), name="warm")], entry_points=False, seed=1)
    warm.close()
    skills = make_skills(count, "skill")
    gc.collect()
    started = time.perf_counter()
    runtime = Runtime(plugins=[FakePlugin(skills=skills, name="bench")], entry_points=False, seed=1)
    took = time.perf_counter() - started
    assert len(runtime.skills) >= count
    runtime.close()
    print(json.dumps({"ms": took * 1000.0}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1,100,1000")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--child", type=int, help="(internal) build one Runtime with this many skills")
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    sizes = [int(s) for s in args.sizes.split(",")]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    samples: dict[int, list[float]] = {n: [] for n in sizes}
    for _ in range(args.rounds):
        for n in sizes:
            argv = [sys.executable, str(BENCH / "case_skills.py"), "--child", str(n)]
            result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600, check=False)
            if result.returncode != 0:
                raise SystemExit(
                    f"case_skills.py --child {n} exited {result.returncode}: {failure_tail(result.stderr)}"
                )
            samples[n].append(json.loads(result.stdout.strip().splitlines()[-1])["ms"])
    rows = [row(f"Runtime(...) with {n:,} skill(s)", "ms", v, key=f"skills@{n}", skills=n) for n, v in samples.items()]
    notes = [
        f"{args.rounds} rounds, each a fresh process per size; per skill above one: "
        + ", ".join(
            f"{(statistics.median(samples[n]) - statistics.median(samples[sizes[0]])) / (n - sizes[0]) * 1000:.0f} µs "
            f"at {n:,}"
            for n in sizes[1:]
        )
    ]
    emit("skills", rows, notes, sizes=sizes, paired=True)


if __name__ == "__main__":
    main()
