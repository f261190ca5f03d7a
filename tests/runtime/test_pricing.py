"""Pricing a call: whatever an estimator or a skill's cost model says, the ledger only ever sees
a valid, non-negative cost, and a call priced above its reserved worst case is reported."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

from aos_core import Cost, CostEstimate, CostModel, ErrorCode, ResourceContract, Runtime, hookimpl
from aos_core.hookspecs import Register
from aos_core.testing import FakePlugin, fake_skill

WORST = Cost(calls=1, money="0.10")


class Estimator:
    """Reserves WORST for the skill `priced`; `actual()` answers whatever the test gives it."""

    name = "scripted"

    def __init__(self, actual: Any = None, estimate: Any = None) -> None:
        self._actual = actual
        self._estimate = estimate

    def covers(self, skill: Any) -> bool:
        return skill.name == "priced"

    def estimate(self, skill: Any, params: Any, ctx: Any = None) -> Any:
        if self._estimate is not None:
            return self._estimate
        return CostEstimate(low=WORST, expected=WORST, worst=WORST)

    def actual(self, skill: Any, params: Any, output: Any, ctx: Any = None) -> Any:
        answer = self._actual
        return answer() if callable(answer) else answer


def priced_runtime(make_runtime: Any, estimator: Estimator, **contract: Any) -> Runtime:
    skill = fake_skill("priced")
    runtime: Runtime = make_runtime(
        skill, estimators=(estimator,), contract=ResourceContract(max_money="1.00", **contract)
    )
    return runtime


def test_an_estimator_pricing_a_call_below_zero_never_drives_spent_negative(make_runtime: Any) -> None:
    """`actual()` building `Cost(money="-1")` cannot lower the spend: the call is charged its worst case."""
    runtime = priced_runtime(make_runtime, Estimator(actual=lambda: Cost(money="-1")))
    outcome = runtime.execute("priced", {})
    assert outcome.ok and outcome.cost.money == Decimal("0.10")
    assert outcome.cost_warning is not None and outcome.cost_warning.kind == "unpriced"
    spent = runtime.query("budget")["spent"]
    assert Decimal(spent["money"]) == Decimal("0.10")


def test_an_estimator_returning_a_negative_cost_built_without_validation_is_charged_its_worst_case(
    make_runtime: Any,
) -> None:
    """A `Cost.model_construct(money=-1)` slipping past validation is caught before the ledger sees it."""
    sneaky = Cost.model_construct(input_tokens=0, output_tokens=0, calls=1, money=Decimal(-1), currency="USD")
    runtime = priced_runtime(make_runtime, Estimator(actual=sneaky))
    outcome = runtime.execute("priced", {})
    assert outcome.cost == WORST and outcome.cost_warning.kind == "unpriced"
    assert Decimal(runtime.query("budget")["spent"]["money"]) == Decimal("0.10")


def test_an_estimator_whose_actual_returns_none_is_charged_its_worst_case(make_runtime: Any) -> None:
    """`actual()` returning None: an ok outcome, charged the worst case, with an `unpriced` warning naming it."""
    runtime = priced_runtime(make_runtime, Estimator(actual=None))
    outcome = runtime.execute("priced", {})
    assert outcome.ok and outcome.cost == WORST
    warning = outcome.cost_warning
    assert warning.kind == "unpriced" and warning.estimator == "scripted" and "None" in warning.message
    assert runtime.query("budget")["reserved"]["money"] in ("0", "0.00")


def test_an_estimator_whose_actual_returns_a_dict_is_charged_its_worst_case(make_runtime: Any) -> None:
    """`actual()` returning a plain dict (even a valid-looking one) is not a `Cost`: worst case, warned."""
    runtime = priced_runtime(make_runtime, Estimator(actual={"calls": 1, "money": "0.01"}))
    outcome = runtime.execute("priced", {})
    assert outcome.ok and outcome.cost == WORST and outcome.cost_warning.kind == "unpriced"
    assert asyncio.run(runtime.aexecute("priced", {})).cost_warning.kind == "unpriced"


def test_an_estimator_whose_estimate_returns_a_dict_refuses_the_call_before_spending(make_runtime: Any) -> None:
    """`estimate()` returning a dict is an estimator failure: SKILL_CRASHED at the estimate stage, nothing run or spent."""
    estimator = Estimator(estimate={"low": {}, "expected": {}, "worst": {"calls": 1}})
    skill = fake_skill("priced")
    runtime = make_runtime(skill, estimators=(estimator,), contract=ResourceContract(max_money="1.00"))
    outcome = runtime.execute("priced", {})
    assert outcome.error.code == ErrorCode.SKILL_CRASHED
    assert outcome.error.details == {"stage": "estimate", "estimator": "scripted"}
    assert skill.calls == [] and runtime.query("budget")["spent"]["calls"] == 0


def test_an_actual_cost_above_the_worst_case_is_reported_as_an_overrun_naming_the_estimator(
    make_runtime: Any,
) -> None:
    """An overrun counts what was really spent, and the outcome says so and who priced it."""
    runtime = priced_runtime(make_runtime, Estimator(actual=Cost(calls=1, money="0.25")))
    outcome = runtime.execute("priced", {})
    assert outcome.ok and outcome.cost.money == Decimal("0.25")
    warning = outcome.cost_warning
    assert warning.kind == "overrun" and warning.estimator == "scripted"
    assert warning.reserved == WORST and warning.charged.money == Decimal("0.25")
    assert "scripted" in warning.message
    assert Decimal(runtime.query("budget")["spent"]["money"]) == Decimal("0.25")


def test_a_call_priced_within_its_worst_case_has_no_warning(make_runtime: Any) -> None:
    """The warning is only for overruns and unpriced calls: an honest estimate carries none."""
    runtime = priced_runtime(make_runtime, Estimator(actual=Cost(calls=1, money="0.04")))
    outcome = runtime.execute("priced", {})
    assert outcome.ok and outcome.cost_warning is None and outcome.cost.money == Decimal("0.04")


class NegativePricePlugin:
    """A third-party plugin declaring a skill at a negative price."""

    __name__ = "negative-price"

    @hookimpl
    def aos_register_skills(self, register: Register) -> None:
        register(fake_skill("refund", cost=CostModel(money_per_call="-0.50")))


def test_a_negative_money_per_call_is_refused_when_the_plugin_loads() -> None:
    """`CostModel(money_per_call="-0.50")` fails the plugin at load, with the reason; nothing can be charged."""
    with Runtime(plugins=[NegativePricePlugin(), FakePlugin(skills=[fake_skill("echo")])], entry_points=False) as rt:
        report = next(r for r in rt.plugins if r.name == "negative-price")
        assert report.status == "failed" and "money is never negative" in (report.reason or "")
        assert rt.execute("refund", {}).error.code == ErrorCode.SKILL_NOT_FOUND
        assert rt.execute("echo", {}).ok  # the rest keep working


def test_a_negative_price_built_without_validation_is_refused_when_the_plugin_loads() -> None:
    """Metadata whose cost model was built with `model_construct` is still validated at the door."""
    skill = fake_skill("refund")
    cheat = CostModel.model_construct(money_per_call=Decimal("-0.50"), currency="USD", uses_tokens=False)
    skill.metadata = skill.metadata.model_copy(update={"cost": cheat})
    with Runtime(plugins=[FakePlugin(skills=[skill], name="cheat")], entry_points=False) as rt:
        report = next(r for r in rt.plugins if r.name == "cheat")
        assert report.status == "failed" and "never negative" in (report.reason or "")
        assert rt.query("budget")["spent"]["money"] == "0"


def test_each_recorded_attempt_keeps_the_cost_it_was_charged_when_costs_alternate(
    make_runtime: Any, tmp_path: Any
) -> None:
    """A metadata-priced skill charges the same `Cost` at every attempt, so its record's JSON is
    made once; an estimator's actual cost is a new `Cost` per call: every attempt's record in the
    trace is the cost charged for that very call."""
    cheap, dear = Cost(calls=1, money="0.01"), Cost(calls=1, money="0.07")
    charged = iter([cheap, cheap, dear, cheap, Cost(calls=1, money="0.03")])
    runtime = make_runtime(
        fake_skill("priced"),
        estimators=(Estimator(actual=lambda: next(charged)),),
        contract=ResourceContract(max_money="1.00"),
        store=tmp_path / "runs.sqlite3",
    )
    steps = [{"id": f"s{i}", "skill": "priced", "params": {}, "depends_on": [f"s{i - 1}"] if i else []} for i in range(5)]
    result = runtime.run({"version": 1, "goal": "g", "steps": steps})
    assert result.ok
    trace = runtime.store.load_run(result.run_id).trace
    costs = [trace.steps[f"s{i}"]["attempts"][0]["cost"]["money"] for i in range(5)]
    assert costs == ["0.01", "0.01", "0.07", "0.01", "0.03"]
    assert all(trace.steps[f"s{i}"]["outcome"]["cost"]["money"] == costs[i] for i in range(5))
