"""A contract with an id, held in the store, is one budget for every process using the store."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

from aos_core import ResourceContract, Runtime
from aos_core.budget.shared import SharedLedger
from aos_core.runs.sqlite import SQLiteRunStore
from aos_core.testing import FakePlugin, fake_skill

WORKER = Path(__file__).with_name("shared_budget_worker.py")


def test_four_processes_spending_on_one_shared_budget_admit_exactly_its_limit(tmp_path: Path) -> None:
    store = tmp_path / "runs.sqlite3"
    SQLiteRunStore(store).close()
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(store), "60", "150"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for process in processes:
        assert process.stdout is not None and process.stdout.readline().strip() == "READY"
    for process in processes:
        assert process.stdin is not None
        process.stdin.write("go\n")
        process.stdin.flush()
    results = []
    for process in processes:
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert sum(r["ok"] for r in results) == 150  # 240 asked, exactly the limit admitted
    assert sum(r["refused"] for r in results) == 90 and sum(r["other"] for r in results) == 0
    check = SQLiteRunStore(store)
    spent, held, _ = check.budget_state("team") or (None, None, None)
    assert spent is not None and spent.calls == 150 and spent.money == Decimal("1.50")
    assert held is not None and held.calls == 0 and list(check.budget_holds("team")) == []
    check.close()


def test_a_hold_of_a_process_that_died_expires_and_is_given_back(tmp_path: Path) -> None:
    store = SQLiteRunStore(tmp_path / "runs.sqlite3")
    contract = ResourceContract(id="team", max_calls=1)
    from aos_core import Cost

    dead = store.budget_reserve(contract, Cost(calls=1), -1, owner="gone")  # already expired
    assert isinstance(dead, int)
    ledger = SharedLedger(contract, store, owner="alive")
    held = ledger.reserve(Cost(calls=1), 0.0)
    assert not hasattr(held, "limit"), held  # the expired hold was taken back, so this one fits
    ledger.settle(held, Cost(calls=1))
    store.budget_settle("team", dead, Cost(calls=1))  # the dead one's late settle adds its actual once
    spent, reserved, _ = store.budget_state("team") or (None, None, None)
    assert spent is not None and spent.calls == 2 and reserved is not None and reserved.calls == 0
    store.close()


def test_a_runtime_without_shared_budgets_keeps_the_contract_in_process(tmp_path: Path) -> None:
    contract = ResourceContract(id="team", max_calls=2)
    with Runtime(
        plugins=[FakePlugin(skills=[fake_skill("s")])], entry_points=False, contract=contract, store=tmp_path / "r.db"
    ) as runtime:
        assert [runtime.execute("s").ok for _ in range(3)] == [True, True, False]
        assert runtime.store.budget_state("team") is None  # nothing in the store


def test_a_long_lived_runtime_on_shared_budgets_keeps_nothing_per_run(tmp_path: Path) -> None:
    """A server runs for weeks: a budget held in the store remembers what each run spent, so the
    runtime's account keeps no id per run (it kept one for every run it ever started)."""
    contract = ResourceContract(id="team", max_calls=100)
    plan = {"steps": [{"id": "a", "skill": "s"}]}
    with Runtime(
        plugins=[FakePlugin(skills=[fake_skill("s")])],
        entry_points=False,
        contract=contract,
        store=tmp_path / "r.db",
        shared_budgets=True,
    ) as runtime:
        assert all(runtime.run(plan).ok for _ in range(5))
        account = runtime.account_for(contract)
        assert account.durable and account.runs_counted == set()
        spent, _, _ = runtime.store.budget_state("team")  # type: ignore[misc]
        assert spent.calls == 5


def test_a_shared_contracts_rate_limit_is_one_bucket_for_every_runtime_on_the_store(tmp_path: Path) -> None:
    """Two runtimes on one store (as two workers are): a burst of 3 admits 3 calls in all, not 3 each."""
    from aos_core import RateLimit

    limit = RateLimit(per_second=0.001, burst=3, on_limit="fail")
    contract = ResourceContract(id="team", rate_limits={"s": limit})
    runtimes = [
        Runtime(
            plugins=[FakePlugin(skills=[fake_skill("s")])],
            entry_points=False,
            contract=contract,
            store=tmp_path / "r.db",
            shared_budgets=True,
        )
        for _ in range(2)
    ]
    try:
        first = [runtimes[0].execute("s") for _ in range(2)]
        second = [runtimes[1].execute("s") for _ in range(2)]
    finally:
        for runtime in runtimes:
            runtime.close()
    assert [o.ok for o in first + second] == [True, True, True, False]
    refused = second[1].error
    assert refused is not None and refused.code.value == "RATE_LIMITED"


def test_a_shared_rate_limit_waits_real_time_on_a_virtual_clock(tmp_path: Path, monkeypatch: Any) -> None:
    """A shared bucket counts the store's (real) time. On a `VirtualClock`, whose sleep returns at
    once, each wait was a loop of store transactions until the real time passed (~20,000 for two
    waits of 0.5 s); it is now one real wait, then one more take."""
    from aos_core import RateLimit
    from aos_core.execution.clock import VirtualClock
    from aos_core.runs.sql_budgets import SQLBudgets

    takes: list[str] = []
    take = SQLBudgets.rate_take

    def counted(self: Any, budget_id: str, skill: str, limit: Any) -> float:
        takes.append(skill)
        return take(self, budget_id, skill, limit)

    monkeypatch.setattr(SQLBudgets, "rate_take", counted)
    clock = VirtualClock()
    limit = RateLimit(per_second=50, burst=1, on_limit="wait")
    with Runtime(
        plugins=[FakePlugin(skills=[fake_skill("s")])],
        entry_points=False,
        contract=ResourceContract(id="team", rate_limits={"s": limit}),
        store=tmp_path / "r.db",
        shared_budgets=True,
        clock=clock,
    ) as runtime:
        started = clock.monotonic()
        assert all(runtime.execute("s").ok for _ in range(3))
    assert len(takes) <= 3 + 2 * 2  # a take per call, and at most two more per wait (the store's clock)
    assert clock.monotonic() == started  # the runtime's virtual time is not the store's
