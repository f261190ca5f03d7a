"""A run process for the crash tests:
`python crash_worker.py STORE LOG run|resume [RUN] [--charge KIND] [--repeat STEP] [--abandon STEP]`.

Every execution of a step appends its id to LOG (O_APPEND, so lines survive a SIGKILL), which
lets the parent count how often each step really ran. Runs hold a short lease (LEASE_S), so a
killed worker's run can be resumed about a second later.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from aos_core import AgentProfile, Policy, ResourceContract, Runtime, SideEffect
from aos_core.testing.fakes import FakePlugin, fake_skill

CHAINS, LENGTH = 4, 10
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


def main() -> None:
    store, log, mode = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    charge_kind = sys.argv[sys.argv.index("--charge") + 1] if "--charge" in sys.argv else None
    repeat = [sys.argv[sys.argv.index("--repeat") + 1]] if "--repeat" in sys.argv else []
    abandon = [sys.argv[sys.argv.index("--abandon") + 1]] if "--abandon" in sys.argv else []
    fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def work(params: Step, ctx: Any) -> dict[str, Any]:
        os.write(fd, f"{ctx.step_id}\n".encode())
        time.sleep(random.uniform(0.001, 0.012))
        return {"n": params.n + 1}

    def charge(params: Step, ctx: Any) -> dict[str, Any]:
        os.write(fd, f"{ctx.step_id}\n".encode())
        if mode == "run":
            time.sleep(30)  # killed in here
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
    profile = AgentProfile(policy=policy, contract=ResourceContract(max_concurrency=4))
    with Runtime(
        profile=profile, plugins=[FakePlugin(skills=skills)], entry_points=False, store=store, lease_s=LEASE_S
    ) as runtime:
        _ = runtime.store  # open (and create) the store before saying we are ready
        print("READY", flush=True)
        if mode == "run":
            result = runtime.run(charge_plan() if charge_kind else crash_plan())
        else:
            result = runtime.run(resume=sys.argv[4], repeat_in_flight=repeat, abandon_in_flight=abandon)
        print(result.model_dump_json(), flush=True)


if __name__ == "__main__":
    main()
