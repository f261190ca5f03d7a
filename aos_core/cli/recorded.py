"""`aos query history|budget|state --run RUN`: answers read from a recorded run.

Each `aos` command starts a fresh runtime, so what a runtime holds in memory (its history, its
ledger, its state) is empty from the CLI; what a run did is in the store. The trace has every
step's outcome, the final state in its end record (or, for a run that never ended, the state
writes of its attempts) and what the run spent.
"""

from __future__ import annotations

from typing import Any

from aos_core.contracts.cost import Cost
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.runs.store import RunStore, StoredRun

__all__ = ["RECORDED_KEYS", "latest_run", "recorded_answer"]

RECORDED_KEYS = ("budget", "history", "state")


def latest_run(store: RunStore) -> str | None:
    """The newest recorded run's id, or None when the store has none."""
    newest = store.list_runs(1)
    return newest[0].run_id if newest else None


def recorded_answer(key: str, stored: StoredRun, params: dict[str, Any]) -> dict[str, Any]:
    """What `Runtime.query(key)` would have said at the end of the recorded run."""
    trace = stored.trace
    records = [trace.steps[step_id] for step_id in trace.step_order()]
    base = {"run_id": stored.run_id, "status": stored.status}
    if key == "history":
        from aos_core.runtime import history_of

        outcomes = [StructuredOutcome.model_validate({**r["outcome"], "trace_id": stored.run_id}) for r in records]
        return {**base, **history_of(outcomes, params)}
    if key == "state":
        if trace.end is not None:
            return {**base, "state": trace.end.get("state", {})}
        state: dict[str, Any] = {}
        for record in records:
            for attempt in record.get("attempts") or []:
                state.update(attempt.get("state_writes") or {})
        return {**base, "state": state}
    if key == "budget":
        contract = trace.header.get("contract") or {}
        spent = _spent(records, stored, contract.get("currency", "USD"))
        limits = {
            name: contract.get(name)
            for name in ("max_input_tokens", "max_output_tokens", "max_calls", "max_money", "max_wall_time_ms")
        }
        return {
            **base,
            "contract": contract.get("id"),
            "currency": contract.get("currency", "USD"),
            "limits": limits,
            "spent": spent,
            "remaining": _remaining(limits, spent),
        }
    raise ValueError(f"a recorded run answers {', '.join(RECORDED_KEYS)}, not {key!r}")


def _spent(records: list[dict[str, Any]], stored: StoredRun, currency: str) -> dict[str, Any]:
    """The end record's figure; for a run that never ended, its committed steps, the attempts
    lost in a crash and the holds still open (each counts as spent until settled)."""
    end = stored.trace.end
    if end is not None and end.get("spent"):
        spent: dict[str, Any] = end["spent"]
        return spent
    total = Cost(currency=currency)
    for record in records:
        total = total + Cost.model_validate(record["outcome"]["cost"])
        for lost in record.get("lost") or []:
            total = total + Cost.model_validate(lost["cost"])
    for hold in stored.holds:
        if hold.step_id not in stored.trace.steps:
            total = total + Cost.model_validate(hold.worst)
    return total.model_dump(mode="json")


def _remaining(limits: dict[str, Any], spent: dict[str, Any]) -> dict[str, Any]:
    from decimal import Decimal

    pairs = {
        "input_tokens": "max_input_tokens",
        "output_tokens": "max_output_tokens",
        "calls": "max_calls",
        "money": "max_money",
    }
    remaining: dict[str, Any] = {}
    for field, limit_name in pairs.items():
        limit = limits.get(limit_name)
        if limit is None:
            remaining[field] = None
        elif field == "money":
            left = max(Decimal(str(limit)) - Decimal(str(spent.get("money", "0"))), Decimal(0))
            remaining[field] = format(left, "f")
        else:
            remaining[field] = max(int(limit) - int(spent.get(field, 0)), 0)
    return remaining
