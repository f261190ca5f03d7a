"""What `aos run`, `aos replay` and `aos simulate` print: a run's result as JSON data (its
outcomes converted one at a time as they are read) and as text, and a simulation report."""

from __future__ import annotations

import json
from collections.abc import ItemsView, Iterator, Mapping
from typing import Any

from aos_core.cli.io import show_money
from aos_core.cli.running import shown_contract

__all__ = ["Outcomes", "render_run", "render_simulation", "run_json", "run_json_text", "where"]


def where(problem: dict[str, Any]) -> str:
    return f"step {problem['step_id']}" if problem.get("step_id") else "plan"


def render_simulation(report: dict[str, Any], contract: dict[str, Any]) -> str:
    cost = report["cost"]
    worst = cost["worst"]
    path = " -> ".join(report["critical_path"])
    latency = f"{report['latency_ms']:g} ms along {path}" if path else "no steps"
    lines = [
        f"feasible: {'yes' if report['feasible'] else 'no'}   fits the contract ({shown_contract(contract)}): "
        f"{'yes' if report['fits_contract'] else 'no'}",
        "cost (low / expected / worst): "
        + " / ".join(show_money(cost[k]["money"]) for k in ("low", "expected", "worst"))
        + f" {worst['currency']}   calls {worst['calls']}, tokens in/out "
        + f"{worst['input_tokens']}/{worst['output_tokens']}",
        f"latency: {latency}",
    ]
    if report["needs_approval"]:
        lines.append(f"needs approval: {', '.join(report['needs_approval'])}")
    lines += [f"problem: {where(p)}: {p['code']}: {p['message']}" for p in report["problems"]]
    lines += [f"note: {w}" for w in report["warnings"]]
    return "\n".join(lines)


class Outcomes(Mapping[str, dict[str, Any]]):
    """A run's outcomes as JSON, each converted when read: a 100,000-step run never has all of
    them as JSON at once beside the models (bench case 6)."""

    def __init__(self, models: Mapping[str, Any]) -> None:
        self.models = models

    def __getitem__(self, step_id: str) -> dict[str, Any]:
        outcome: dict[str, Any] = self.models[step_id].model_dump(mode="json")
        return outcome

    def __iter__(self) -> Iterator[str]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def items(self) -> ItemsView[str, dict[str, Any]]:
        return _Items(self)


class _Items(ItemsView[str, dict[str, Any]]):
    """Iterated through the models' own `items()`: a run's outcomes are loaded a batch at a time."""

    _mapping: Outcomes

    def __iter__(self) -> Iterator[tuple[str, dict[str, Any]]]:
        return ((step_id, model.model_dump(mode="json")) for step_id, model in self._mapping.models.items())


def run_json(ran: Any) -> dict[str, Any]:
    """A `RunResult` as JSON data, its outcomes converted as they are read."""
    data: dict[str, Any] = ran.model_dump(mode="json", exclude={"outcomes"})
    data["outcomes"] = Outcomes(ran.outcomes)
    return data


def run_json_text(ran: Any) -> Iterator[str]:
    """`ran.model_dump_json()` (a `RunResult` or `ReplayResult`) in pieces: each field as the model
    writes it, in its order, and the outcomes one at a time as they are read back from the run
    store. Whole, a 100,000-step run's outcomes were one dict and then one 30 MB text: `aos run
    --json` peaked at 411 MiB."""
    from pydantic_core import to_json

    yield "{"
    for i, name in enumerate(type(ran).model_fields):
        if i:
            yield ","
        if name != "outcomes":
            yield ran.model_dump_json(include={name})[1:-1]  # '"name":value' of '{"name":value}'
            continue
        yield '"outcomes":{'
        for j, (step_id, outcome) in enumerate(ran.outcomes.items()):
            yield f"{',' if j else ''}{to_json(step_id).decode()}:{outcome.model_dump_json()}"
        yield "}"
    yield "}"


def render_run(result: dict[str, Any]) -> Iterator[str]:
    """One line per step (a failure's message is printed once, on stderr), then the run's totals;
    yielded as made: a 100,000-step run's lines and their joined text were the last peak of
    `aos run`'s memory (~15 MiB, bench case 6)."""
    if result["error"] and not result["run_id"]:
        yield f"not started: {result['error']['message']}"
        return
    for step_id, outcome in result["outcomes"].items():
        cost = outcome["cost"]
        money = f"{show_money(cost['money'])} {cost['currency']}"
        tail = f"{outcome['duration_ms']:g} ms, {outcome['attempts']} attempt(s), {money}"
        if outcome["ok"]:
            yield f"ok      {step_id} ({outcome['skill']}, {tail})"
        else:
            yield f"FAILED  {step_id} ({outcome['skill']}, {tail}): {outcome['error']['code']}"
    lines = []
    if result["skipped"]:
        lines.append(f"skipped: {', '.join(result['skipped'])}")
    spent = result["spent"]
    lines.append(
        f"run {result['run_id']} {result['status']}: spent {show_money(spent['money'])} {spent['currency']}, "
        f"{spent['calls']} call(s), tokens {spent['input_tokens']}/{spent['output_tokens']}"
    )
    if result["reused"]:
        lines.append(f"resumed: {len(result['reused'])} committed step(s) not run again")
    if result["repeated_in_flight"]:
        lines.append(f"run again (in flight when it stopped): {', '.join(result['repeated_in_flight'])}")
    if result["not_repeated"]:
        lines.append(
            f"not run again (in flight when it stopped, not safe to repeat): {', '.join(result['not_repeated'])}"
        )
    if result["ok"] and result["outcomes"]:
        last = list(result["outcomes"])[-1]
        lines.append(f"output of the last step ({last}):")
        lines.append(json.dumps(result["outcomes"][last]["output"], indent=2, ensure_ascii=False))
    yield from (line for line in lines if line)
