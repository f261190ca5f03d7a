"""One budget held across worker processes: N runs of a small plan on 4 `aos worker`s against
one shared contract admitting exactly K calls make exactly K calls, and what is spent plus what
is held never exceeds K at any sample (peers overshoot by a multiple of their concurrency).

CI: 200 runs, 60 calls, 1 repetition. The issue's figure (1,000 runs, 300 calls, 20 of 20):
AOS_SCALE_RUNS=1000 AOS_SCALE_LIMIT=300 AOS_SCALE_TRIALS=20."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from typing import Any

import pytest
from cluster import Cluster, plan, step

from aos_core import ResourceContract

pytestmark = [pytest.mark.slow]

RUNS = int(os.environ.get("AOS_SCALE_RUNS", "200"))
LIMIT = int(os.environ.get("AOS_SCALE_LIMIT", "60"))
TRIALS = int(os.environ.get("AOS_SCALE_TRIALS", "1"))
WORKERS = int(os.environ.get("AOS_SCALE_WORKERS", "4"))


class Sampler(threading.Thread):
    """Reads the budget's spent and held calls as fast as it can, noting every sample above K."""

    def __init__(self, store: Any, contract_id: str) -> None:
        super().__init__(daemon=True)
        self.store, self.contract_id = store, contract_id
        self.samples = 0
        self.highest = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            state = self.store.budget_state(self.contract_id)
            if state is not None:
                self.samples += 1
                self.highest = max(self.highest, state[0].calls + state[1].calls)
            time.sleep(0.002)


def test_workers_share_one_budget_and_make_exactly_its_calls(cluster: Any) -> None:
    one: Cluster = cluster("--concurrency", "16", "--lease", "5")
    one.start(WORKERS)
    body = plan(step("call", "count"))
    made = 0
    for trial in range(TRIALS):
        contract = ResourceContract(id=f"shared-{trial}", max_calls=LIMIT)
        sampler = Sampler(one.store, contract.id or "")
        sampler.start()
        run_ids = one.submit(body, RUNS, budgets=(contract,))
        ended = one.wait(run_ids)
        sampler.stop.set()
        sampler.join()
        calls = one.calls()
        assert len(calls) - made == LIMIT, f"trial {trial}: {len(calls) - made} calls for a budget of {LIMIT}"
        made = len(calls)
        assert Counter(s.status for s in ended.values()) == {"completed": LIMIT, "failed": RUNS - LIMIT}
        refused = next(s for s in ended.values() if s.status == "failed")
        error = refused.trace.steps["call"]["outcome"]["error"]
        assert error["code"] == "BUDGET_EXCEEDED" and error["details"]["contract"] == contract.id
        spent, held, _ = one.store.budget_state(contract.id)
        assert (spent.calls, held.calls) == (LIMIT, 0)
        assert sampler.samples > 0 and sampler.highest <= LIMIT, f"spent + held reached {sampler.highest}"
    pids = {pid for _, _, pid in one.calls()}
    assert len(pids) > 1, "the calls were all made by one worker"
