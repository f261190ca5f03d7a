"""A run process for the crash tests: `python crash_worker.py STORE LOG run|resume [RUN]
[--charge KIND] [--charge-s SECONDS] [--budget] [--repeat STEP] [--abandon STEP] [--slow] [--go FILE]`.

Every execution of a step appends its id to LOG (O_APPEND, so lines survive a SIGKILL), which
lets the parent count how often each step really ran. Runs hold a short lease (LEASE_S), so a
killed worker's run can be resumed about a second later. `--budget` runs BUDGET_STEPS metered
steps under `max_calls=BUDGET_STEPS`; `--charge-s` is how long the charge step takes in a first run
(default 30 s: it is killed in there); `--slow` makes each step take 50 ms; `--go FILE` waits,
after READY, until FILE exists (so two workers start at once). A resume refused because another
live process holds the run prints `{"busy": MESSAGE}`.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aos_core import AgentProfile, Policy, ResourceContract, RunBusy, Runtime, SideEffect
from aos_core.testing.fakes import FakePlugin, fake_skill

CHAINS, LENGTH = 4, 10
BUDGET_STEPS = 10
LEASE_S = 0.6


class Step(BaseModel):
    n: int


def crash_plan() -> dict[str, Any]:
    steps = []
    for i in range(CHAINS * LENGTH):
        x: Any = i if i < CHAINS else f"${{steps.s{i - CHAINS}.output.n}}"
        steps.append({"id": f"s{i}", "skill": "work", "params": {"n": x}})
    return {"goal": "crash test", "steps": steps}


def charge_plan() -> dict[str, Any]:
    return {"goal": "charge", "steps": [{"id": "charge", "skill": "charge", "params": {"n": 1}}]}


def budget_plan() -> dict[str, Any]:
    steps = [{"id": f"m{i}", "skill": "work", "params": {"n": i}} for i in range(BUDGET_STEPS)]
    return {"goal": "metered", "steps": steps}


def main() -> None:
    store, log, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    charge_kind = sys.argv[sys.argv.index("--charge") + 1] if "--charge" in sys.argv else None
    repeat = [sys.argv[sys.argv.index("--repeat") + 1]] if "--repeat" in sys.argv else []
    abandon = [sys.argv[sys.argv.index("--abandon") + 1]] if "--abandon" in sys.argv else []
    go = Path(sys.argv[sys.argv.index("--go") + 1]) if "--go" in sys.argv else None
    budget, slow = "--budget" in sys.argv, "--slow" in sys.argv
    charge_s = float(sys.argv[sys.argv.index("--charge-s") + 1]) if "--charge-s" in sys.argv else 30.0
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def work(params: Step, ctx: Any) -> dict[str, Any]:
        os.write(fd, f"{ctx.step_id}\n".encode())
        time.sleep(0.05 if slow else random.uniform(0.001, 0.012))
        return {"n": params.n + 1}

    def charge(params: Step, ctx: Any) -> dict[str, Any]:
        os.write(fd, f"{ctx.step_id}\n".encode())
        if mode == "run":
            time.sleep(charge_s)  # killed (or stopped) in here
        return {"n": params.n}

    skills = [
        fake_skill("work", work, input_model=Step, side_effects=SideEffect.NONE),
        fake_skill(
            "charge",
            charge,
            input_model=Step,
            side_effects=SideEffect.WRITE,
            idempotent=charge_kind == "idempotent",
            blocking=False,
            timeout_ms=60_000,
        ),
    ]
    policy = Policy(repeat_in_flight=charge_kind == "repeat")
    contract = ResourceContract(max_concurrency=4, max_calls=BUDGET_STEPS if budget else None)
    profile = AgentProfile(policy=policy, contract=contract)
    with Runtime(
        profile=profile, plugins=[FakePlugin(skills=skills)], entry_points=False, store=store, lease_s=LEASE_S
    ) as runtime:
        _ = runtime.store  # open (and create) the store before saying we are ready
        print("READY", flush=True)
        while go is not None and not go.exists():
            time.sleep(0.001)
        if mode == "run":
            result = runtime.run(charge_plan() if charge_kind else budget_plan() if budget else crash_plan())
        else:
            try:
                result = runtime.run(resume=sys.argv[4], repeat_in_flight=repeat, abandon_in_flight=abandon)
            except RunBusy as exc:
                print(json.dumps({"busy": str(exc)}), flush=True)
                return
        print(result.model_dump_json(), flush=True)


if __name__ == "__main__":
    main()
