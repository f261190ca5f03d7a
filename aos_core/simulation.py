"""Simulation: what a plan would cost and how long it would take, found without executing it.

Pure over data: the plan, the loaded skills, the cost estimators, the policy and the contract.
It also runs the checks that would refuse a call at once, without sending anything: the policy's
allowed and denied skills, every `${secrets.NAME}` a step names, and each skill's own optional
`preflight(params, ctx)` (http_call: a URL the network policy refuses; llm_invoke: no API key).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aos_core.budget.estimators import MetadataEstimator
from aos_core.contracts.cost import Cost, CostEstimate, CostTally, CurrencyMismatch
from aos_core.contracts.errors import ErrorCode
from aos_core.contracts.plan import Plan, PlanProblem
from aos_core.contracts.plan_steps import step_fields
from aos_core.contracts.profile import Policy
from aos_core.contracts.protocols import EstimateContext, PreflightContext, SkillError
from aos_core.contracts.resources import ResourceContract
from aos_core.contracts.runs import CostRange, SimulationReport, StepEstimate
from aos_core.execution.secrets import SECRET_REF
from aos_core.planning.validation import plan_graph, topological_order, validate_plan
from aos_core.plugins.contributions import SkillEntry
from aos_core.policy import check_allowed, needs_approval

__all__ = ["simulate"]

_FALLBACK = MetadataEstimator()


def simulate(
    plan: Plan,
    *,
    skills: Mapping[str, SkillEntry],
    estimators: Mapping[str, Any],
    policy: Policy,
    contract: ResourceContract,
    skill_config: Mapping[str, Mapping[str, Any]],
    at: datetime,
    problems: list[PlanProblem] | None = None,
    has_secret: Callable[[str], bool] | None = None,
    steps: bool = True,
) -> SimulationReport:
    """Problems, approvals, cost range and critical-path latency of `plan`; runs nothing.
    `problems`: what validating the plan already found (validated here when not given).
    `has_secret`: whether a secret is set (None: secrets are not checked). `steps=False`: no
    estimate per step is kept in the report (the totals are the same)."""
    problems = list(validate_plan(plan, skills) if problems is None else problems)
    graph = plan_graph(plan)
    warnings: list[str] = []
    approvals: list[str] = []
    estimates: list[StepEstimate] = []
    latency: dict[str, float] = {}
    unknown_latency: dict[str, str] = {}
    currency = contract.currency
    # summed in tallies, one `Cost` each at the end: a `Cost` per addition was 3 per step (2.9 µs
    # each), and `aos run`'s preflight of 100,000 steps held 11 MiB of them at its peak (bench case 6)
    low, expected, worst = CostTally(currency), CostTally(currency), CostTally(currency)
    currency_problem = ""  # a step priced in another currency is refused at run time, whatever the limits
    for step_id, skill, params, _ in step_fields(plan.steps):  # no model made per step (plan_steps.py)
        entry = skills.get(skill)
        if entry is None:
            if steps:
                estimates.append(StepEstimate(step_id=step_id, skill=skill, estimate=None, latency_ms=0.0))
            latency[step_id] = 0.0
            continue
        meta = entry.declared
        refusal = check_allowed(policy, meta.name)
        if refusal is not None:
            problems.append(PlanProblem(step_id=step_id, code=refusal.code, message=refusal.message))
        approval = needs_approval(policy, meta)
        if approval:
            approvals.append(step_id)
        if has_secret is not None:
            problems += _missing_secrets(step_id, meta.name, params, has_secret)
            context = PreflightContext(policy, skill_config.get(meta.name, {}), has_secret)
            problems += _preflight(step_id, entry, params, context, warnings)
        estimate = _estimate(step_id, meta, entry, estimators, params, skill_config, at, problems)
        refs = [r.text for r in graph.references.get(step_id, ())]
        if refs and meta.cost.uses_tokens:
            warnings.append(
                f"step {step_id}: its size depends on {refs[0]}, known only at run time; the runtime still "
                "reserves the real worst case before the call"
            )
        step_latency = (estimate.latency_ms if estimate and estimate.latency_ms is not None else None) or (
            meta.expected_latency_ms or 0.0
        )
        if meta.expected_latency_ms is None and (estimate is None or estimate.latency_ms is None):
            unknown_latency.setdefault(meta.name, step_id)
        latency[step_id] = float(step_latency)
        if steps:
            estimates.append(
                StepEstimate(
                    step_id=step_id,
                    skill=skill,
                    estimate=estimate,
                    latency_ms=float(step_latency),
                    needs_approval=approval,
                )
            )
        if estimate is not None:
            try:  # the worst case first: a currency it refuses leaves the three sums untouched
                worst.add(estimate.worst)
                expected.add(estimate.expected)
                low.add(estimate.low)
            except CurrencyMismatch:
                currency_problem = (
                    f"{meta.name} is priced in {estimate.worst.currency}, but the plan's other steps "
                    f"and the contract count {worst.currency if worst.money else currency}; price every "
                    "step in one currency"
                )
                problems.append(PlanProblem(step_id=step_id, code=ErrorCode.BUDGET_EXCEEDED, message=currency_problem))
    warnings += [
        f"{skill} declares no expected latency (first at step {first}); counted as 0 ms"
        for skill, first in unknown_latency.items()
    ]
    if worst.money and worst.currency != currency:
        currency_problem = (
            f"the plan is priced in {worst.currency} but the contract counts {currency}; every call would be refused"
        )
        problems.append(PlanProblem(code=ErrorCode.BUDGET_EXCEEDED, message=currency_problem))
    order, cyclic = topological_order(plan)
    path, total_ms = _critical_path(plan, order, latency) if not cyclic else ([], 0.0)
    if contract.max_concurrency:
        total_ms = max(total_ms, sum(latency.values()) / contract.max_concurrency)
    fits, why = _fits(worst.cost(), total_ms, contract)
    if not fits:
        problems.append(PlanProblem(code=ErrorCode.BUDGET_EXCEEDED, message=why))
    fits = fits and not currency_problem
    blocking = [p for p in problems if p.code != ErrorCode.BUDGET_EXCEEDED]
    return SimulationReport(
        feasible=not blocking and fits,
        fits_contract=fits,
        problems=tuple(problems),
        warnings=tuple(warnings),
        needs_approval=tuple(approvals),
        cost=CostRange(low=low.cost(), expected=expected.cost(), worst=worst.cost()),
        latency_ms=round(total_ms, 3),
        critical_path=tuple(path),
        order=tuple(order),
        steps=tuple(estimates),
        contract=contract.id or "",
    )


def _estimate(
    step_id: str,
    meta: Any,
    entry: SkillEntry,
    estimators: Mapping[str, Any],
    params: Mapping[str, Any],
    skill_config: Mapping[str, Mapping[str, Any]],
    at: datetime,
    problems: list[PlanProblem],
) -> CostEstimate | None:
    estimator = estimators.get(meta.name, _FALLBACK)
    try:
        estimate = estimator.estimate(meta, params, EstimateContext(at=at, config=skill_config.get(meta.name, {})))
        if isinstance(estimate, CostEstimate):
            return estimate
        problem = f"estimator {getattr(estimator, 'name', '?')} returned {type(estimate).__name__}, not a CostEstimate"
    except Exception as exc:  # noqa: BLE001 - an estimator that cannot price a step is a problem, not a crash
        problem = f"{type(exc).__name__}: {exc}"
    problems.append(
        PlanProblem(
            step_id=step_id, code=ErrorCode.INVALID_INPUT, message=f"cannot estimate the cost of {meta.name}: {problem}"
        )
    )
    return None


def _missing_secrets(step_id: str, skill: str, params: Any, has_secret: Callable[[str], bool]) -> list[PlanProblem]:
    """A problem for each `${secrets.NAME}` in the step's own text that is not set (what the
    pipeline would refuse the call for: INVALID_INPUT)."""
    names: list[str] = []
    stack = [params]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            names += [m.group(1) for m in SECRET_REF.finditer(value) if m.group(1) not in names]
        elif isinstance(value, Mapping):
            stack += list(value.values())
        elif isinstance(value, list | tuple):
            stack += list(value)
    return [
        PlanProblem(
            step_id=step_id,
            code=ErrorCode.INVALID_INPUT,
            message=f"{skill}: secret {name} is not set; export {name}=... or configure a secrets provider",
        )
        for name in sorted(names)
        if not has_secret(name)
    ]


def _preflight(
    step_id: str, entry: SkillEntry, params: Any, ctx: PreflightContext, warnings: list[str]
) -> list[PlanProblem]:
    """The skill's own preflight, if it has one: its problems, with this step's id."""
    check = getattr(entry.skill, "preflight", None)
    if check is None:
        return []
    name = entry.declared.name
    try:
        found = check(params, ctx)
    except SkillError as exc:
        return [PlanProblem(step_id=step_id, code=exc.code, message=f"{name}: {exc.message}")]
    except Exception as exc:  # noqa: BLE001 - a broken preflight must not stop a plan; it is reported
        warnings.append(f"step {step_id}: the preflight of {name} failed ({type(exc).__name__}: {exc}); unchecked")
        return []
    problems = []
    for item in found or ():
        if isinstance(item, PlanProblem):
            problems.append(item.model_copy(update={"step_id": step_id}))
        else:
            shown = type(item).__name__
            warnings.append(f"step {step_id}: the preflight of {name} returned {shown}, not a PlanProblem")
    return problems


def _critical_path(plan: Plan, order: list[str], latency: Mapping[str, float]) -> tuple[list[str], float]:
    deps = plan_graph(plan).dependencies  # only steps with upstream steps
    finish: dict[str, float] = {}
    via: dict[str, str] = {}  # only steps with an upstream step: most steps of a large plan have none
    for step_id in order:
        ups = [d for d in deps.get(step_id, ()) if d in finish]
        if ups:
            before = max(ups, key=finish.__getitem__)
            finish[step_id] = finish[before] + latency[step_id]
            via[step_id] = before
        else:
            finish[step_id] = latency[step_id]  # the same float: no new one per step
    if not finish:
        return [], 0.0
    last = max(finish, key=finish.__getitem__)
    total = finish[last]
    end: str | None = last
    path = []
    while end is not None:
        path.append(end)
        end = via.get(end)
    return list(reversed(path)), total


def _fits(worst: Cost, latency_ms: float, contract: ResourceContract) -> tuple[bool, str]:
    checks: list[tuple[str, Any, Any]] = [
        ("max_input_tokens", worst.input_tokens, contract.max_input_tokens),
        ("max_output_tokens", worst.output_tokens, contract.max_output_tokens),
        ("max_calls", worst.calls, contract.max_calls),
        ("max_money", worst.money, contract.max_money),
        ("max_wall_time_ms", latency_ms, contract.max_wall_time_ms),
    ]
    for name, need, limit in checks:
        if limit is not None and need > limit:
            return False, f"the worst case needs {need} against {name}={limit}"
    return True, ""
