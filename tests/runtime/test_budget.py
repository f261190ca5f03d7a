"""Budgets are enforced by reservation before a call; rate limits by token buckets."""

from __future__ import annotations

import asyncio
import decimal
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from aos_core import Cost, CostEstimate, ErrorCode, RateLimit, ResourceContract
from aos_core.testing.fakes import fake_skill


def priced(name: str = "paid", fn: Any = None, **kwargs: Any) -> Any:
    return fake_skill(name, fn, cost={"money_per_call": "0.01"}, **kwargs)


def test_a_thousand_concurrent_calls_spend_exactly_what_a_hundred_cost(make_runtime: Any) -> None:
    async def work(params: Any, ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(0)  # let every other call interleave here
        return {}

    skill = priced(fn=work)
    runtime = make_runtime(skill, contract=ResourceContract(max_money="1.00"))

    async def main() -> list[Any]:
        return await asyncio.gather(*(runtime.aexecute("paid", {}) for _ in range(1000)))

    outcomes = asyncio.run(main())
    ok = [o for o in outcomes if o.ok]
    refused = [o for o in outcomes if not o.ok]
    assert len(ok) == 100 and len(skill.calls) == 100
    assert {o.error.code for o in refused} == {ErrorCode.BUDGET_EXCEEDED}
    assert all(o.attempts == 0 and o.cost.calls == 0 for o in refused)
    budget = runtime.query("budget")
    assert budget["spent"]["money"] == "1.00" and Decimal(budget["reserved"]["money"]) == 0
    assert budget["remaining"]["money"] == "0.00"


def test_threads_calling_the_sync_api_never_overspend(make_runtime: Any) -> None:
    lock = threading.Lock()
    running = [0, 0]

    def work(params: Any, ctx: Any) -> dict[str, Any]:
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(0.001)
        with lock:
            running[0] -= 1
        return {}

    skill = priced(fn=work, blocking=True)
    runtime = make_runtime(skill, contract=ResourceContract(max_money="0.50", max_concurrency=4))
    with ThreadPoolExecutor(16) as pool:
        outcomes = list(pool.map(lambda _: runtime.execute("paid", {}), range(200)))
    assert sum(o.ok for o in outcomes) == 50 == len(skill.calls)
    assert runtime.ledger.spent().money == Decimal("0.50")
    assert running[1] <= 4  # the contract's concurrency limit held across threads


def test_a_refused_call_never_reaches_the_skill_and_says_which_limit(make_runtime: Any) -> None:
    skill = priced()
    runtime = make_runtime(skill, contract=ResourceContract(max_money="0.005"))
    outcome = runtime.execute("paid", {})
    assert outcome.error.code == ErrorCode.BUDGET_EXCEEDED and outcome.error.category == "RESOURCE"
    assert outcome.error.details["limit"] == "max_money"
    assert outcome.error.details["requested"] == "0.01" and outcome.error.details["remaining"] == "0.005"
    assert not outcome.error.retryable and skill.calls == []


def test_calls_budget(make_runtime: Any) -> None:
    runtime = make_runtime(fake_skill("free"), contract=ResourceContract(max_calls=3))
    codes = [runtime.execute("free", {}).error for _ in range(5)]
    assert codes[:3] == [None] * 3
    assert [c.details["limit"] for c in codes[3:]] == ["max_calls", "max_calls"]


class TokenEstimator:
    """Reserves 100 input tokens per call, then settles the 30 actually used."""

    name = "tokens"

    def covers(self, skill: Any) -> bool:
        return skill.name == "llm_like"

    def estimate(self, skill: Any, params: Any, ctx: Any) -> CostEstimate:
        worst = Cost(input_tokens=100, output_tokens=10, calls=1)
        return CostEstimate(low=worst, expected=worst, worst=worst)

    def actual(self, skill: Any, params: Any, output: Any, ctx: Any) -> Cost:
        return Cost(input_tokens=30, output_tokens=5, calls=1)


def test_the_worst_case_is_reserved_and_the_actual_cost_settled(make_runtime: Any) -> None:
    runtime = make_runtime(
        fake_skill("llm_like"), estimators=(TokenEstimator(),), contract=ResourceContract(max_input_tokens=250)
    )
    results = [runtime.execute("llm_like", {}) for _ in range(8)]
    # 30 tokens spent per call, 100 reserved up front: a call is admitted while 100 more fit
    admitted = [r for r in results if r.ok]
    assert len(admitted) == 6  # 6 * 30 = 180 spent; the 7th needs 100 but only 70 are left
    assert results[6].error.details == {
        "limit": "max_input_tokens",
        "requested": "100",
        "remaining": "70",
        "skill": "llm_like",
    }
    assert admitted[0].cost == Cost(input_tokens=30, output_tokens=5, calls=1)
    assert runtime.query("budget")["spent"]["input_tokens"] == 180


def test_a_crashing_estimator_refuses_the_call_before_spending(make_runtime: Any) -> None:
    class Broken(TokenEstimator):
        def estimate(self, skill: Any, params: Any, ctx: Any) -> CostEstimate:
            raise ValueError("no price for this model")

    skill = fake_skill("llm_like")
    runtime = make_runtime(skill, estimators=(Broken(),))
    outcome = runtime.execute("llm_like", {})
    assert outcome.error.code == ErrorCode.SKILL_CRASHED
    assert outcome.error.details == {"stage": "estimate", "estimator": "tokens"}
    assert skill.calls == []


def test_the_wall_time_budget_refuses_calls_once_used_up(make_runtime: Any) -> None:
    def slow(params: Any, ctx: Any) -> dict[str, Any]:
        time.sleep(0.03)
        return {}

    skill = fake_skill("slow", slow)
    runtime = make_runtime(skill, contract=ResourceContract(max_wall_time_ms=100))
    outcomes = [runtime.execute("slow", {}) for _ in range(8)]
    refused = [o for o in outcomes if not o.ok]
    assert refused and all(o.error.code == ErrorCode.BUDGET_EXCEEDED for o in refused)
    assert refused[-1].error.details["limit"] == "max_wall_time_ms"
    assert len(skill.calls) < 8


def test_a_call_is_stopped_when_the_wall_time_budget_runs_out(make_runtime: Any) -> None:
    async def long(params: Any, ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(2)
        return {}

    runtime = make_runtime(fake_skill("long", long, timeout_ms=60_000), contract=ResourceContract(max_wall_time_ms=80))
    started = time.monotonic()
    outcome = runtime.execute("long", {})
    assert outcome.error.code == ErrorCode.BUDGET_EXCEEDED
    assert "wall-time budget ran out" in outcome.error.message
    assert time.monotonic() - started < 1.5


def test_rate_limit_fail_returns_the_time_to_wait(make_runtime: Any, clock: Any) -> None:
    limits = {"free": RateLimit(per_second=10, burst=2, on_limit="fail")}
    skill = fake_skill("free")
    runtime = make_runtime(skill, contract=ResourceContract(rate_limits=limits), clock=clock)
    outcomes = [runtime.execute("free", {}) for _ in range(3)]
    assert outcomes[0].ok and outcomes[1].ok
    limited = outcomes[2].error
    assert limited.code == ErrorCode.RATE_LIMITED and limited.retry_after_ms == 100
    assert len(skill.calls) == 2
    clock.advance(0.1)
    assert runtime.execute("free", {}).ok


def test_rate_limit_wait_spaces_the_calls(make_runtime: Any, clock: Any) -> None:
    limits = {"free": RateLimit(per_second=5, burst=1, on_limit="wait")}
    runtime = make_runtime(fake_skill("free"), contract=ResourceContract(rate_limits=limits), clock=clock)
    started = clock.monotonic()
    assert all(runtime.execute("free", {}).ok for _ in range(5))
    assert abs((clock.monotonic() - started) - 0.8) < 1e-6  # 4 waits of 200 ms on the virtual clock


def test_two_runtimes_price_their_own_skills_of_the_same_name(make_runtime: Any) -> None:
    cheap = make_runtime(fake_skill("lookup", cost={"money_per_call": "0.001"}))
    dear = make_runtime(fake_skill("lookup", cost={"money_per_call": "0.5"}))
    assert cheap.execute("lookup", {}).cost.money == Decimal("0.001")
    assert dear.execute("lookup", {}).cost.money == Decimal("0.5")


def test_an_estimator_whose_covers_exits_covers_nothing_and_the_runtime_starts(make_runtime: Any) -> None:
    """`covers()` calling sys.exit must not end the process that loads the plugins."""

    class Exits(TokenEstimator):
        def covers(self, skill: Any) -> bool:
            raise SystemExit(3)

    runtime = make_runtime(priced(), estimators=(Exits(),))
    outcome = runtime.execute("paid", {})
    assert outcome.ok and outcome.cost.money == Decimal("0.01")  # priced by its own cost model


def test_the_limit_binds_whatever_the_callers_decimal_context(make_runtime: Any) -> None:
    """Under `decimal.getcontext().prec = 4`, 1,000 calls of 0.00315 spend exactly 3.15 and the 1,001st is refused."""
    skill = fake_skill("metered", cost={"money_per_call": "0.00315"})
    runtime = make_runtime(skill, contract=ResourceContract(max_money="3.15"))
    with decimal.localcontext() as context:
        context.prec = 4
        outcomes = [runtime.execute("metered", {}) for _ in range(1001)]
        assert runtime.ledger.spent().money == Decimal("3.15")
    assert all(o.ok for o in outcomes[:1000])
    assert outcomes[1000].error.code == ErrorCode.BUDGET_EXCEEDED
    assert outcomes[1000].error.details["limit"] == "max_money"
    assert len(skill.calls) == 1000 and runtime.query("budget")["spent"]["money"] == "3.15000"


def test_a_rate_limit_wait_longer_than_the_wall_time_left_is_refused_at_once(make_runtime: Any) -> None:
    # per_second=0.001 means a 1000 s wait for the second call; the contract allows 2 s in all: the
    # call used to sleep the whole 1000 s (a hang) and only then be refused for the wall time
    limits = {"free": RateLimit(per_second=0.001, burst=1)}
    skill = fake_skill("free")
    runtime = make_runtime(skill, contract=ResourceContract(max_wall_time_ms=2000, rate_limits=limits))
    assert runtime.execute("free", {}).ok
    started = time.monotonic()
    outcome = runtime.execute("free", {})
    assert time.monotonic() - started < 1.0
    assert outcome.error.code == ErrorCode.BUDGET_EXCEEDED
    assert outcome.error.details["limit"] == "max_wall_time_ms"
    assert "rate limit" in outcome.error.message
    assert len(skill.calls) == 1


def test_aos_run_whose_rate_limit_outlasts_its_wall_time_stops_with_exit_5(aos_cli: Any, tmp_path: Any) -> None:
    step = {"skill": "json_transform", "params": {"expression": "a", "data": {"a": 1}}}
    plan = {"version": 1, "goal": "g", "steps": [{"id": "a", **step}, {"id": "b", **step, "depends_on": ["a"]}]}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    contract = {"max_wall_time_ms": 3000, "rate_limits": {"json_transform": {"per_second": 0.001}}}
    started = time.monotonic()
    done = aos_cli("run", str(path), "--contract", json.dumps(contract), "--json", timeout=60)
    assert time.monotonic() - started < 30
    assert done.returncode == 5, done.stderr
    result = json.loads(done.stdout)
    assert result["outcomes"]["a"]["ok"]
    assert result["outcomes"]["b"]["error"]["code"] == "BUDGET_EXCEEDED"
    assert len(done.stderr.strip().splitlines()) == 1
