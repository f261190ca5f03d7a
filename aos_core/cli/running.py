"""What `aos run` and `aos replay` do around the runtime's call: the preflight that refuses a plan
before its first step, live progress, and what an interruption (Ctrl-C, SIGTERM) prints.

Why a preflight: the simulation already knows, before anything is spent, that a plan's worst case
does not fit its contract or that a step will be refused (a destination the policy refuses, a
secret or key that is not set). Running such a plan step by step would spend on the first steps
and fail at the one that cannot be paid or allowed; refusing it first spends nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

from aos_core.cli.io import fail, show_money

__all__ = ["Watch", "interrupted_run", "preflight_refusal", "running", "shown_contract"]

_LIMITS = ("max_money", "max_calls", "max_input_tokens", "max_output_tokens", "max_wall_time_ms", "max_concurrency")


class Watch:
    """The observer a run (or replay) reports its events to: remembers the run id, feeds the display."""

    def __init__(self, display: Any) -> None:
        self.run_id: str | None = None
        self.display = display

    def __call__(self, event: dict[str, Any]) -> None:
        if event.get("kind") == "run_started" and event.get("run_id"):
            self.run_id = str(event["run_id"])
        if self.display is not None:
            self.display(event)

    def stop(self) -> None:
        display, self.display = self.display, None
        if display is not None:
            display.stop()


@contextmanager
def running(runtime: Any, flag: bool | None, as_json: bool, verb: str) -> Iterator[Watch]:
    """SIGTERM interrupts like Ctrl-C while inside; progress is drawn when wanted (rich is
    imported only then); an approval prompt pauses the display."""
    from aos_core.cli.interrupts import handle_sigterm
    from aos_core.cli.progress import Progress, progress_wanted

    display = None
    if progress_wanted(flag, as_json):
        contract = runtime.contract
        display = Progress(verb, contract.max_money, contract.currency, force=bool(flag))
        runtime.approve = display.pausing(runtime.approve)
    watch = Watch(display)
    try:
        with handle_sigterm():
            yield watch
    finally:
        watch.stop()


def interrupted_run(runtime: Any, run_id: str | None) -> NoReturn:
    """End `aos run` after Ctrl-C or SIGTERM: the run is recorded interrupted (the runtime did it
    while the interruption unwound); say how to resume it, and with --json print its status."""
    from aos_core.cli.errors import EXIT_TERMINATED, error_object
    from aos_core.cli.interrupts import signal_exit
    from aos_core.contracts.exceptions import AOSError

    code = signal_exit()
    name = "TERMINATED" if code == EXIT_TERMINATED else "INTERRUPTED"
    if not run_id:
        fail("interrupted before the run started; nothing was recorded", code, error_code=name, category="INTERRUPTED")
    status, committed, in_flight = "interrupted", [], []
    try:
        stored = runtime.store.load_run(run_id)
        status, committed, in_flight = stored.status, stored.trace.step_order(), stored.in_flight
    except AOSError:
        pass  # the hint still holds; the status is what the run engine records on interruption
    message = f"interrupted: run {run_id}; resume with: aos run --resume {run_id}"
    data = {
        "ok": False,
        "run_id": run_id,
        "status": status,
        "committed": committed,
        "in_flight": in_flight,
        "resume": f"aos run --resume {run_id}",
        "error": error_object(name, "INTERRUPTED", message, code)["error"],
    }
    fail(message, code, error_code=name, category="INTERRUPTED", data=data)


def preflight_refusal(runtime: Any, document: Any, plan_path: str) -> tuple[str, dict[str, Any]] | None:
    """(message, error as JSON) when the simulation refuses the plan, else None. Its details: the
    first problems and how many there are (`problems_details`, as a refused run's), the
    contract, and the simulation's report without its problems."""
    from aos_core.contracts.errors import ErrorCode, make_error
    from aos_core.contracts.plan import PlanProblem
    from aos_core.planning.service import problems_details

    report = runtime.simulate(document, steps=False)  # the totals and problems are what it reads
    problems = list(report.problems)
    if runtime.approve is None:  # no terminal to ask: such a step would be refused
        problems += [
            PlanProblem(
                step_id=step_id,
                code=ErrorCode.PERMISSION_DENIED,
                message="the step needs an approval and there is no terminal to ask; pass --approve SKILL",
            )
            for step_id in report.needs_approval
        ]
    if not problems:
        return None
    first = next((p for p in problems if p.code != ErrorCode.BUDGET_EXCEEDED), problems[0])
    where = f"step {first.step_id}: " if first.step_id else ""
    worst = report.cost.worst
    over = first.code == ErrorCode.BUDGET_EXCEEDED
    shown = f" (worst case {show_money(worst.money)} {worst.currency})" if over else ""
    message = f"refused before the first step, nothing spent: {where}{first.code.value}: {first.message}{shown}"
    if first.code in (ErrorCode.BUDGET_EXCEEDED, ErrorCode.POLICY_VIOLATION, ErrorCode.PERMISSION_DENIED):
        message += f"; aos simulate {plan_path} shows the figures, --no-preflight runs it anyway"
    elif len(problems) > 1:
        message += f" (+{len(problems) - 1} more problem(s); aos simulate {plan_path} lists them all)"
    # the first problems, not all: every problem of a 100,000-step plan, dumped twice (here and in
    # the simulation), was a 345 MiB peak to refuse it; `aos simulate` lists them all
    details = {
        "step": first.step_id,
        **problems_details(problems),
        "contract": runtime.contract.model_dump(mode="json"),
        "simulation": report.model_dump(mode="json", exclude={"problems"}),
    }
    return message, make_error(first.code, message, details=details).model_dump(mode="json")


def shown_contract(contract: dict[str, Any]) -> str:
    """`contract 'demo': max_money 0.05 USD, max_calls 10`, or `no limits`."""
    limits = []
    for name in _LIMITS:
        value = contract.get(name)
        if value is not None:
            limits.append(f"{name} {show_money(value)} {contract.get('currency', 'USD')}" if name == "max_money"
                          else f"{name} {value}")  # fmt: skip
    text = ", ".join(limits) or "no limits"
    return f"contract {contract['id']!r}: {text}" if contract.get("id") else text
