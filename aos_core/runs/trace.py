"""The canonical trace: JSON Lines with sorted keys, decimals as strings, no run ids, no timestamps.

Line 1 is the run header (plan, seed, contract, policy), then one line per executed step in
plan order (parameters before secret resolution, the outcome, each attempt's clock readings,
state writes and retry delay), then an end line (status, skipped steps, final state, spent).
Two runs that did the same thing have byte-identical canonical traces.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aos_core.contracts.money import format_money
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.execution.executor import AttemptRecord

__all__ = ["TRACE_FORMAT", "TraceDocument", "TraceError", "canonical_json", "same_json", "step_record"]

TRACE_FORMAT = 1


class TraceError(ValueError):
    """A trace file that cannot be read as an AOS trace; the message says where."""


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def canonical_json(value: Any) -> str:
    """One line of canonical JSON (one shared encoder: `json.dumps` with options builds a new one per call)."""
    return _CANONICAL.encode(value)


def step_record(
    step_id: str, skill: str, params: Any, outcome: StructuredOutcome, attempts: Iterable[AttemptRecord]
) -> dict[str, Any]:
    """The canonical record of one executed step (run id dropped from the outcome)."""
    data = outcome_json(outcome)
    return {
        "kind": "step",
        "id": step_id,
        "skill": skill,
        "params": params,
        "outcome": data,
        "attempts": [
            {
                "attempt": a.attempt,
                "clock": a.clock,
                "state_writes": a.state_writes,
                "error": a.error,
                "delay_ms": a.delay_ms,
            }
            for a in attempts
        ],
    }


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values serialise identically (strict: `1`, `1.0` and `true` differ)."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        if len(a) != len(b):
            return False
        for key, value in a.items():  # noqa: SIM110 - a plain loop is ~2x faster than all() over a generator
            if key not in b or not same_json(value, b[key]):
                return False
        return True
    if kind is list or kind is tuple:
        if len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):  # noqa: SIM110 - as above; this runs for every replayed step
            if not same_json(x, y):
                return False
        return True
    return bool(a == b)


def outcome_json(outcome: StructuredOutcome) -> dict[str, Any]:
    """`outcome.model_dump(mode="json")` without the run id, built directly: it runs once per
    step of every run (a test keeps the two identical)."""
    cost = outcome.cost
    error = outcome.error
    return {
        "ok": outcome.ok,
        "output": outcome.output,
        "error": None if error is None else error.model_dump(mode="json"),
        "skill": outcome.skill,
        "skill_version": outcome.skill_version,
        "cost": {
            "input_tokens": cost.input_tokens,
            "output_tokens": cost.output_tokens,
            "calls": cost.calls,
            "money": format_money(cost.money),
            "currency": cost.currency,
        },
        "duration_ms": outcome.duration_ms,
        "attempts": outcome.attempts,
        "trace_id": None,
        "step_id": outcome.step_id,
    }


@dataclass
class TraceDocument:
    """A whole trace: header, step records by id, end record (None while the run is unfinished)."""

    header: dict[str, Any]
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)
    end: dict[str, Any] | None = None
    raw_steps: dict[str, str] = field(default_factory=dict)  # canonical lines as stored, when known

    @property
    def plan(self) -> dict[str, Any]:
        plan: dict[str, Any] = self.header["plan"]
        return plan

    def step_order(self) -> list[str]:
        """Step ids in plan order; recorded steps the plan does not have come last, by id."""
        position = {step["id"]: i for i, step in enumerate(self.plan["steps"])}
        if all(step_id in position for step_id in self.steps):
            return sorted(self.steps, key=position.__getitem__)  # a C-level key: this runs per export
        return sorted(self.steps, key=lambda s: (position.get(s, len(position)), s))

    def lines(self) -> list[str]:
        out = [canonical_json(self.header)]
        raw = self.raw_steps
        out += [raw.get(step_id) or canonical_json(self.steps[step_id]) for step_id in self.step_order()]
        if self.end is not None:
            out.append(canonical_json(self.end))
        return out

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines())

    def sha256(self) -> str:
        return hashlib.sha256(self.text().encode("utf-8")).hexdigest()

    @classmethod
    def parse(cls, text: str, source: str = "trace") -> TraceDocument:
        header: dict[str, Any] | None = None
        doc: TraceDocument | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise TraceError(f"{source}:{number}: not JSON ({exc.msg} at column {exc.colno})") from None
            if not isinstance(record, Mapping) or "kind" not in record:
                raise TraceError(f"{source}:{number}: a trace line is a JSON object with a 'kind'")
            kind = record["kind"]
            if kind == "run":
                if header is not None:
                    raise TraceError(f"{source}:{number}: a second run header")
                if record.get("format") != TRACE_FORMAT:
                    raise TraceError(
                        f"{source}:{number}: trace format {record.get('format')!r}, expected {TRACE_FORMAT}"
                    )
                header = dict(record)
                doc = cls(header)
            elif doc is None:
                raise TraceError(f"{source}:{number}: the first line must be the run header")
            elif kind == "step":
                doc.steps[str(record["id"])] = dict(record)
                if line == canonical_json(record):
                    doc.raw_steps[str(record["id"])] = line
            elif kind == "end":
                doc.end = dict(record)
            else:
                raise TraceError(f"{source}:{number}: unknown record kind {kind!r}")
        if doc is None:
            raise TraceError(f"{source}: empty trace")
        return doc
