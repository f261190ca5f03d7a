"""Simulation reports problems, cost and latency without executing anything."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from aos_core import ErrorCode, Policy, ResourceContract, SideEffect
from aos_core.testing.fakes import FakePlugin, fake_skill

from .conftest import chain_plan


def test_simulation_executes_nothing_and_prices_the_plan(runtime_factory: Any, skills: Any) -> None:
    report = runtime_factory().simulate(chain_plan())
    assert report.feasible and report.fits_contract and not report.problems
    assert all(skill.calls == [] for skill in skills.values())
    assert report.cost.worst.calls == 4 and report.cost.worst.money == Decimal("0.002")
    assert report.order == ("fetch", "first", "second", "label")


def test_latency_follows_the_critical_path(runtime_factory: Any) -> None:
    plan = {
        "steps": [
            {"id": "a", "skill": "fetch", "params": {}},
            {"id": "b", "skill": "fetch", "params": {}},
            {"id": "c", "skill": "pick", "params": {"x": "${steps.a.output.source}"}},
        ]
    }
    report = runtime_factory().simulate(plan)
    assert report.critical_path == ("a", "c") and report.latency_ms == 105.0
    limited = runtime_factory(contract=ResourceContract(max_concurrency=1)).simulate(plan)
    assert limited.latency_ms == 205.0  # one at a time


def test_a_plan_over_budget_is_infeasible(runtime_factory: Any) -> None:
    report = runtime_factory(contract=ResourceContract(max_money="0.001")).simulate(chain_plan())
    assert not report.feasible and not report.fits_contract
    assert report.problems[-1].code == ErrorCode.BUDGET_EXCEEDED
    assert "max_money=0.001" in report.problems[-1].message


def test_policy_refusals_and_approvals_are_reported(runtime_factory: Any, skills: Any) -> None:
    nuke = fake_skill("nuke", side_effects=SideEffect.DESTRUCTIVE)
    plugin = FakePlugin(skills=[*skills.values(), nuke])
    runtime = runtime_factory(plugins=[plugin], policy=Policy(deny_skills=("fetch",)))
    plan = {"steps": [{"id": "f", "skill": "fetch", "params": {}}, {"id": "n", "skill": "nuke", "params": {}}]}
    report = runtime.simulate(plan)
    assert not report.feasible
    assert [(p.step_id, p.code) for p in report.problems] == [("f", ErrorCode.PERMISSION_DENIED)]
    assert report.needs_approval == ("n",)
    assert nuke.calls == []


def test_an_unparseable_plan_is_a_report_not_an_exception(runtime_factory: Any) -> None:
    report = runtime_factory().simulate({"steps": "nope"})
    assert not report.feasible and report.problems[0].code == ErrorCode.SCHEMA_VALIDATION_FAILED


TWO_CURRENCIES = {"steps": [{"id": "a", "skill": "in_usd", "params": {}}, {"id": "b", "skill": "in_eur", "params": {}}]}


def two_currency_skills() -> FakePlugin:
    return FakePlugin(
        skills=[
            fake_skill("in_usd", cost={"money_per_call": "0.01"}),
            fake_skill("in_eur", cost={"money_per_call": "0.02", "currency": "EUR"}),
        ]
    )


def test_a_plan_priced_in_two_currencies_is_a_problem_not_an_exception(runtime_factory: Any) -> None:
    """Steps priced in USD and EUR under a USD contract: simulate names the step, and the plan is not feasible."""
    runtime = runtime_factory(plugins=[two_currency_skills()])
    report = runtime.simulate(TWO_CURRENCIES)
    assert [(p.step_id, p.code) for p in report.problems] == [("b", ErrorCode.BUDGET_EXCEEDED)]
    assert "EUR" in report.problems[0].message and "USD" in report.problems[0].message
    assert not report.feasible and not report.fits_contract


def test_what_simulate_calls_infeasible_for_its_currency_the_run_refuses(runtime_factory: Any) -> None:
    """The run of that plan refuses the EUR step before calling it: the simulation told the truth."""
    result = runtime_factory(plugins=[two_currency_skills()], policy=Policy(on_step_failure="continue")).run(
        TWO_CURRENCIES
    )
    assert result.outcomes["a"].ok
    refused = result.outcomes["b"].error
    assert refused.code == ErrorCode.BUDGET_EXCEEDED and refused.details["limit"] == "currency"


class DictEstimator:
    """An estimator whose estimate() answers a dict instead of a CostEstimate."""

    name = "dicts"

    def covers(self, skill: Any) -> bool:
        return skill.name == "in_usd"

    def estimate(self, skill: Any, params: Any, ctx: Any = None) -> Any:
        return {"low": {}, "expected": {}, "worst": {"calls": 1}}

    def actual(self, skill: Any, params: Any, output: Any, ctx: Any = None) -> Any:
        return None


def test_an_estimator_answering_garbage_is_a_problem_of_the_plan(runtime_factory: Any) -> None:
    """simulate never raises for what an estimator returns: the step is reported as not priceable."""
    plugin = FakePlugin(skills=[fake_skill("in_usd")], estimators=[DictEstimator()])
    plan = {"steps": [{"id": "a", "skill": "in_usd", "params": {}}]}
    report = runtime_factory(plugins=[plugin]).simulate(plan)
    assert [(p.step_id, p.code) for p in report.problems] == [("a", ErrorCode.INVALID_INPUT)]
    assert "dicts" in report.problems[0].message and not report.feasible


def test_a_report_without_steps_keeps_every_total(runtime_factory: Any) -> None:
    """`steps=False` (what `aos run`'s preflight asks for): no estimate per step, the same totals,
    problems, approvals, order and critical path."""
    runtime = runtime_factory(contract=ResourceContract(max_money="0.001"))
    full, lean = runtime.simulate(chain_plan()), runtime.simulate(chain_plan(), steps=False)
    assert len(full.steps) == 4 and lean.steps == ()
    assert lean.model_dump(exclude={"steps"}) == full.model_dump(exclude={"steps"})
    assert not lean.fits_contract and lean.cost.worst.money == Decimal("0.002")
