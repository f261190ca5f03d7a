"""A process spending on a shared budget: `python shared_budget_worker.py STORE CALLS LIMIT`.

Prints how many of its CALLS were admitted (ok) and refused (BUDGET_EXCEEDED), as JSON.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor

from aos_core import ResourceContract, Runtime
from aos_core.testing import FakePlugin, fake_skill


def main() -> None:
    store, calls, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    contract = ResourceContract(id="team", max_calls=limit, max_money="1000")
    skill = fake_skill("paid", cost={"money_per_call": "0.01"})
    with Runtime(
        plugins=[FakePlugin(skills=[skill])], entry_points=False, store=store, contract=contract, shared_budgets=True
    ) as runtime:
        print("READY", flush=True)
        sys.stdin.readline()  # every process starts spending at once
        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(lambda _: runtime.execute("paid", {}), range(calls)))
    codes = [o.error.code.value for o in outcomes if not o.ok]
    print(
        json.dumps(
            {
                "ok": sum(o.ok for o in outcomes),
                "refused": codes.count("BUDGET_EXCEEDED"),
                "other": len(codes) - codes.count("BUDGET_EXCEEDED"),
            }
        )
    )


if __name__ == "__main__":
    main()
