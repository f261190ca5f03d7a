"""The canonical trace: JSON Lines with sorted keys, decimals as strings, no run ids.

Line 1 is the run header (plan, seed, contract, policy), then one line per committed step in
plan order, then an end line (status, failed and skipped steps, final state, spent). A step line
holds the step's parameters before secret resolution, whether an approval was given, the
outcome, and per attempt: whether that call was idempotent, the rate-limit wait before it, its
deadline, every clock reading the skill took, its state writes, what it asked of memory and what
came back, its error, its cost and the delay before the next attempt; plus the worst cases of
attempts lost when a process died.

What the trace holds is everything a replay needs and nothing that varies between machines:
no run id, no wall-clock time of when the run happened. It does hold what the run measured
(durations, clock readings, rate-limit waits): those are inputs to the run, recorded so that a
replay can serve them back. So two runs of the same plan and seed give the same trace only
when every measured value came out the same (a virtual clock and the same skill results); a
replay of one recorded run gives byte for byte the recorded trace.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from itertools import islice
from typing import TYPE_CHECKING, Any

from pydantic_core import from_json

from aos_core.contracts.exceptions import TraceError
from aos_core.contracts.outcome import StructuredOutcome
from aos_core.contracts.plan import PlanStep, PlanSteps

if TYPE_CHECKING:
    from aos_core.execution.records import CallRecord

__all__ = [
    "TRACE_FORMAT",
    "StepRecords",
    "TraceDocument",
    "TraceError",
    "canonical_json",
    "canonical_parts",
    "outcome_json",
    "plan_order",
    "recorded_outcome",
    "same_json",
    "step_record",
]

TRACE_FORMAT = 2


class _HasSteps(Exception):
    """A value holds a plan's `PlanSteps`: `canonical_json` writes them itself."""


def _plan_step(value: Any) -> Any:
    """A run header holds its plan's steps as they are, each made JSON as the encoder reaches it:
    the whole plan as JSON data at once was the peak of `aos run` (41 MiB of 132 for 100,000
    steps, bench case 6). Any other object is refused, as `json` refuses it."""
    if isinstance(value, PlanStep):
        return value.model_dump(mode="json")
    if isinstance(value, PlanSteps):
        raise _HasSteps
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


_OPTIONS: dict[str, Any] = {"sort_keys": True, "separators": (",", ":"), "ensure_ascii": False, "allow_nan": False}
_CANONICAL = json.JSONEncoder(**_OPTIONS, default=_plan_step)


def canonical_json(value: Any) -> str:
    """One line of canonical JSON (one shared encoder: `json.dumps` with options builds a new one
    per call). A `PlanStep` is written as its JSON data, and so is each step of a `PlanSteps`."""
    try:
        return _CANONICAL.encode(value)
    except _HasSteps:
        return "".join(_with_steps(value))


def canonical_parts(value: Any) -> list[str]:
    """`canonical_json(value)` in pieces that join into it: a plan's steps a thousand at a time,
    for a writer that need not hold the whole line at once (a run header, sqlite.py)."""
    try:
        return [_CANONICAL.encode(value)]
    except _HasSteps:
        return _with_steps(value)


def _with_steps(value: Any) -> list[str]:
    """`value` written with each `PlanSteps` in it as the list of its steps' JSON data, one step
    made at a time: `json` writes a list only from a list or tuple, and the steps made all at once
    would be the plan held twice. Each is written as a marker the text cannot otherwise hold (a
    random one, checked to be found once), then the marker replaced with the steps' text."""
    held: list[PlanSteps] = []
    mark = f"\x00plan-steps-{secrets.token_hex(16)}\x00"

    def default(found: Any) -> Any:
        if isinstance(found, PlanSteps):
            held.append(found)
            return mark
        return _plan_step(found)

    text = json.JSONEncoder(**_OPTIONS, default=default).encode(value)
    parts = text.split(_CANONICAL.encode(mark))
    if len(parts) != len(held) + 1:  # the marker was in the data itself: not in practice
        every = json.JSONEncoder(**_OPTIONS, default=lambda v: list(v) if isinstance(v, PlanSteps) else _plan_step(v))
        return [every.encode(value)]
    pieces = [parts[0]]
    for steps, after in zip(held, parts[1:], strict=True):
        pieces.append("[")
        steps_json = map(_CANONICAL.encode, steps.json_data())
        # joined a thousand steps at a time: each step's text held until one join at the end was
        # 13 MiB of small strings beside the 7.5 MiB line of a 100,000-step plan
        while batch := ",".join(islice(steps_json, 1000)):
            pieces.append(batch if pieces[-1] == "[" else "," + batch)
        pieces.append("]")
        pieces.append(after)
    return pieces


def outcome_json(outcome: StructuredOutcome) -> dict[str, Any]:
    """The outcome as the trace keeps it: JSON data without the run id."""
    data = outcome.model_dump(mode="json")
    data["trace_id"] = None
    return data


def recorded_outcome(record: dict[str, Any], run_id: str | None) -> StructuredOutcome:
    """A step's outcome as its record keeps it, with the run's id."""
    return StructuredOutcome.model_validate({**record["outcome"], "trace_id": run_id})


def step_record(
    step_id: str,
    skill: str,
    params: Any,
    outcome: StructuredOutcome,
    call: CallRecord | None,
    lost: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The canonical record of one committed step (one function for a run and its replay)."""
    return {
        "kind": "step",
        "id": step_id,
        "skill": skill,
        "params": params,
        "approval": None if call is None else call.approval,
        "outcome": outcome_json(outcome),
        "attempts": [] if call is None else [a.as_json() for a in call.attempts],
        "lost": lost or [],
    }


def same_json(a: Any, b: Any) -> bool:
    """Whether two JSON values serialise identically (strict: `1`, `1.0` and `true` differ)."""
    kind = type(a)
    if kind is not type(b):
        return False
    if kind is dict:
        return len(a) == len(b) and all(key in b and same_json(value, b[key]) for key, value in a.items())
    if kind is list or kind is tuple:
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def first_difference(recorded: Any, actual: Any, path: str = "") -> tuple[str, Any, Any] | None:
    """The first place two JSON values differ: (dotted path, recorded, actual), or None."""
    if type(recorded) is not type(actual):
        return path or "(value)", recorded, actual
    if isinstance(recorded, dict):
        for key in sorted(set(recorded) | set(actual)):
            where = f"{path}.{key}" if path else str(key)
            if key not in recorded or key not in actual:
                return where, recorded.get(key), actual.get(key)
            found = first_difference(recorded[key], actual[key], where)
            if found is not None:
                return found
        return None
    if isinstance(recorded, list):
        for index, (x, y) in enumerate(zip(recorded, actual, strict=False)):
            found = first_difference(x, y, f"{path}[{index}]")
            if found is not None:
                return found
        if len(recorded) != len(actual):
            return f"{path} (length)", len(recorded), len(actual)
        return None
    return None if recorded == actual else (path or "(value)", recorded, actual)


def plan_order(plan: Mapping[str, Any], step_ids: Iterable[str]) -> list[str]:
    """`step_ids` in the order of `plan` (a plan as data); ids the plan does not have come last, by id."""
    position = {step["id"]: i for i, step in enumerate(plan["steps"])}
    return sorted(step_ids, key=lambda s: (position.get(s, len(position)), s))


class StepRecords(MutableMapping[str, dict[str, Any]]):
    """A trace's step records by id. A record read from a store or a file is kept as its
    canonical line and parsed each time it is asked for: parsed, a record takes about four times
    the memory of its line (a replay of 50,000 steps held 571 MiB, most of it parsed records)."""

    __slots__ = ("_lines", "_parsed")

    def __init__(self) -> None:
        self._lines: dict[str, str] = {}  # canonical lines, as stored
        self._parsed: dict[str, dict[str, Any]] = {}  # records set as data (never both for one id)

    def __getitem__(self, step_id: str) -> dict[str, Any]:
        found = self._parsed.get(step_id)
        if found is not None:
            return found
        record: dict[str, Any] = from_json(self._lines[step_id])
        return record

    def __setitem__(self, step_id: str, record: dict[str, Any]) -> None:
        self._lines.pop(step_id, None)
        self._parsed[step_id] = record

    def __delitem__(self, step_id: str) -> None:
        if self._lines.pop(step_id, None) is None:
            del self._parsed[step_id]

    def __iter__(self) -> Iterator[str]:
        yield from self._lines
        yield from self._parsed

    def __len__(self) -> int:
        return len(self._lines) + len(self._parsed)

    def __contains__(self, step_id: object) -> bool:
        return step_id in self._lines or step_id in self._parsed

    def add_line(self, step_id: str, line: str) -> None:
        """Keep a step's record as its canonical line (parsed when asked for)."""
        self._parsed.pop(step_id, None)
        self._lines[step_id] = line

    def line(self, step_id: str) -> str:
        """The step's canonical line: as stored when known, else serialised now."""
        found = self._lines.get(step_id)
        return found if found is not None else canonical_json(self._parsed[step_id])


class TraceDocument:
    """A whole trace: header, step records by id, end record (None while the run is unfinished).

    A header given as its canonical line (read from a store, or a canonical file) is kept as that
    line and parsed each time it is asked for: parsed, a 100,000-step plan is ~0.6 KiB a step,
    and a replay held it beside the `Plan` it validated from it (bench case 6)."""

    __slots__ = ("_header", "end", "steps")

    def __init__(
        self, header: dict[str, Any] | str, steps: StepRecords | None = None, end: dict[str, Any] | None = None
    ) -> None:
        self._header = header  # a canonical line: parsed when asked for
        self.steps = StepRecords() if steps is None else steps
        self.end = end

    @property
    def header(self) -> dict[str, Any]:
        header = self._header
        if isinstance(header, str):
            parsed: dict[str, Any] = from_json(header)
            return parsed
        return header

    def header_line(self) -> str:
        """The header's canonical line."""
        header = self._header
        return header if isinstance(header, str) else canonical_json(header)

    @property
    def plan(self) -> dict[str, Any]:
        plan: dict[str, Any] = self.header["plan"]
        return plan

    def step_order(self) -> list[str]:
        """Step ids in plan order; recorded steps the plan does not have come last, by id."""
        return plan_order(self.plan, self.steps)

    def lines(self) -> Iterator[str]:
        yield self.header_line()
        for step_id in self.step_order():
            yield self.steps.line(step_id)
        if self.end is not None:
            yield canonical_json(self.end)

    def text(self) -> str:
        return "".join(line + "\n" for line in self.lines())

    def sha256(self) -> str:
        digest = hashlib.sha256()
        for line in self.lines():
            digest.update(line.encode("utf-8"))
            digest.update(b"\n")
        return digest.hexdigest()

    @classmethod
    def parse(cls, text: str, source: str = "trace") -> TraceDocument:
        """Read a JSON Lines trace; `TraceError` says which line is wrong and how."""
        doc: TraceDocument | None = None
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{source}:{number}"
            try:
                record = json.loads(line)
            except (json.JSONDecodeError, RecursionError, ValueError) as exc:
                reason = (
                    f"{exc.msg.removesuffix(' at')} at column {exc.colno}"  # json's own "...starting at" said "at at"
                    if isinstance(exc, json.JSONDecodeError)
                    else type(exc).__name__
                )
                raise TraceError(f"{where}: not JSON ({reason})") from None
            if not isinstance(record, Mapping) or "kind" not in record:
                raise TraceError(f"{where}: a trace line is a JSON object with a 'kind'")
            kind = record["kind"]
            if kind == "run":
                if doc is not None:
                    raise TraceError(f"{where}: a second run header")
                header = _checked_header(dict(record), where)
                doc = cls(line if line == canonical_json(header) else header)
            elif doc is None:
                raise TraceError(f"{where}: the first line must be the run header")
            elif kind == "step":
                step = _checked_step(dict(record), where)
                if line == canonical_json(record):
                    doc.steps.add_line(step["id"], line)
                else:
                    doc.steps[step["id"]] = step
            elif kind == "end":
                doc.end = _checked_end(dict(record), where)
            else:
                raise TraceError(f"{where}: unknown record kind {kind!r}")
        if doc is None:
            raise TraceError(f"{source}: empty trace (no run header)")
        return doc


def _checked_header(header: dict[str, Any], where: str) -> dict[str, Any]:
    fmt = header.get("format")
    if fmt != TRACE_FORMAT:
        older = " (written by an older AOS, whose traces this one cannot replay)" if fmt == 1 else ""
        raise TraceError(f"{where}: trace format {fmt!r}, expected {TRACE_FORMAT}{older}")
    plan = header.get("plan")
    if not isinstance(plan, Mapping) or not isinstance(plan.get("steps"), list):
        raise TraceError(f"{where}: the run header has no plan with a list of steps")
    if not all(isinstance(s, Mapping) and isinstance(s.get("id"), str) for s in plan["steps"]):
        raise TraceError(f"{where}: every step of the header's plan needs a string 'id'")
    seed = header.get("seed")
    if type(seed) is not int:
        raise TraceError(f"{where}: the run header's seed must be an integer, got {type(seed).__name__}")
    for key in ("contract", "policy"):
        if not isinstance(header.get(key), Mapping):
            raise TraceError(f"{where}: the run header has no '{key}' object")
    return header


def _checked_step(step: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(step.get("id"), str) or not step["id"]:
        raise TraceError(f"{where}: a step record needs a string 'id'")
    if not isinstance(step.get("skill"), str):
        raise TraceError(f"{where}: step {step['id']!r} needs a string 'skill'")
    outcome = step.get("outcome")
    if not isinstance(outcome, Mapping) or type(outcome.get("ok")) is not bool:
        raise TraceError(f"{where}: step {step['id']!r} needs an 'outcome' object with a boolean 'ok'")
    if outcome["ok"] and outcome.get("error") is not None:
        raise TraceError(f"{where}: step {step['id']!r} is ok but has an error")
    if not outcome["ok"] and (outcome.get("output") is not None or not isinstance(outcome.get("error"), Mapping)):
        raise TraceError(f"{where}: step {step['id']!r} failed, so it needs an error and no output")
    for key in ("attempts", "lost"):
        value = step.get(key, [])
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            raise TraceError(f"{where}: step {step['id']!r}: '{key}' must be a list of objects")
    return step


def _checked_end(end: dict[str, Any], where: str) -> dict[str, Any]:
    if not isinstance(end.get("status"), str) or not isinstance(end.get("spent"), Mapping):
        raise TraceError(f"{where}: the end record needs a 'status' and a 'spent' object")
    if not isinstance(end.get("skipped", []), list):
        raise TraceError(f"{where}: the end record's 'skipped' must be a list")
    return end
