"""What a resource contract covers (defect 7): a contract with an `id` is one budget, one set of
rate limits and one concurrency limit for every run and direct call of the `Runtime` naming it;
a contract without an `id` is the budget of each run on its own (and, for `execute`, of the
runtime's direct calls)."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from aos_core import ErrorCode, RateLimit, ResourceContract, Runtime
from aos_core.testing import FakePlugin, VirtualClock, fake_skill

ONE_STEP = {"goal": "tick", "steps": [{"id": "tick", "skill": "tick", "params": {}}]}


def ticking(seen: list[float]) -> Any:
    def tick(params: Any, ctx: Any) -> dict[str, Any]:
        seen.append(ctx.clock.monotonic())
        return {}

    return fake_skill("tick", tick)


def four_concurrent_runs(runtime: Runtime, plan: dict[str, Any]) -> list[Any]:
    async def main() -> list[Any]:
        return list(await asyncio.gather(*(runtime.arun(plan) for _ in range(4))))

    return asyncio.run(main())


def test_a_named_rate_limit_holds_across_concurrent_runs(runtime_factory: Any) -> None:
    """Four runs at once under a shared contract with `per_second=1`: their calls are a second apart."""
    seen: list[float] = []
    contract = ResourceContract(id="shared", rate_limits={"tick": RateLimit(per_second=1)})
    runtime = runtime_factory(contract=contract, clock=VirtualClock(), plugins=[FakePlugin(skills=[ticking(seen)])])
    results = four_concurrent_runs(runtime, ONE_STEP)
    assert all(r.ok for r in results) and len(seen) == 4
    times = sorted(seen)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) >= 1.0 - 1e-6, times


def test_an_unnamed_contract_rate_limits_each_run_on_its_own(runtime_factory: Any) -> None:
    """Without an id, each run has its own bucket: four runs make their first call at the same moment."""
    seen: list[float] = []
    contract = ResourceContract(rate_limits={"tick": RateLimit(per_second=1)})
    runtime = runtime_factory(contract=contract, clock=VirtualClock(), plugins=[FakePlugin(skills=[ticking(seen)])])
    results = four_concurrent_runs(runtime, ONE_STEP)
    assert all(r.ok for r in results) and seen == [0.0] * 4


def busy_skill(inside: list[int]) -> Any:
    async def busy(params: Any, ctx: Any) -> dict[str, Any]:
        inside[0] += 1
        inside[1] = max(inside[1], inside[0])
        await asyncio.sleep(0.01)
        inside[0] -= 1
        return {}

    return fake_skill("busy", busy)


BUSY = {"goal": "busy", "steps": [{"id": f"b{i}", "skill": "busy", "params": {}} for i in range(3)]}


def test_a_named_concurrency_limit_holds_across_concurrent_runs(runtime_factory: Any) -> None:
    """`max_concurrency=1` under a shared contract: never two calls at once, whichever run they belong to."""
    inside = [0, 0]
    runtime = runtime_factory(
        contract=ResourceContract(id="shared", max_concurrency=1), plugins=[FakePlugin(skills=[busy_skill(inside)])]
    )
    assert all(r.ok for r in four_concurrent_runs(runtime, BUSY))
    assert inside[1] == 1


def test_an_unnamed_concurrency_limit_is_each_runs_own(runtime_factory: Any) -> None:
    """`max_concurrency=1` without an id limits each run: four runs may each have a call in flight."""
    inside = [0, 0]
    runtime = runtime_factory(
        contract=ResourceContract(max_concurrency=1), plugins=[FakePlugin(skills=[busy_skill(inside)])]
    )
    assert all(r.ok for r in four_concurrent_runs(runtime, BUSY))
    assert inside[1] == 4


TWO_STEPS = {
    "goal": "two",
    "steps": [{"id": "a", "skill": "tick", "params": {}}, {"id": "b", "skill": "tick", "params": {}}],
}


def test_a_named_budget_is_shared_by_direct_calls_and_runs(runtime_factory: Any) -> None:
    """`max_calls=3` under a shared contract: two direct calls leave one for a run, whose second step is refused."""
    runtime = runtime_factory(
        contract=ResourceContract(id="team", max_calls=3), plugins=[FakePlugin(skills=[ticking([])])]
    )
    assert runtime.execute("tick", {}).ok and runtime.execute("tick", {}).ok
    result = runtime.run(TWO_STEPS)
    assert result.outcomes["a"].ok
    refused = result.outcomes["b"].error
    assert refused.code == ErrorCode.BUDGET_EXCEEDED and refused.details["contract"] == "team"
    assert runtime.query("budget")["spent"]["calls"] == 3


def test_an_unnamed_budget_is_each_runs_own_and_apart_from_direct_calls(runtime_factory: Any) -> None:
    """`max_calls=3` without an id: direct calls use the runtime's budget, each run gets a fresh one."""
    runtime = runtime_factory(contract=ResourceContract(max_calls=3), plugins=[FakePlugin(skills=[ticking([])])])
    assert runtime.execute("tick", {}).ok and runtime.execute("tick", {}).ok
    assert runtime.run(TWO_STEPS).ok and runtime.run(TWO_STEPS).ok
    assert runtime.query("budget")["spent"]["calls"] == 2  # the runs' spend is their own
