"""Planning and run commands: plan, simulate, run, runs, show, replay."""

from __future__ import annotations

import json
from itertools import islice
from pathlib import Path
from typing import Any

import click

from aos_core.cli.io import emit, emit_text, fail, fail_with, read_json_arg, render_outcome, show_money, table
from aos_core.cli.options import build_runtime, json_option, runtime_options
from aos_core.cli.results import render_run, render_simulation, run_json, run_json_text, where
from aos_core.cli.resuming import refuse_changes_on_resume
from aos_core.cli.running import interrupted_run, preflight_refusal, running


def _read_plan(path: str) -> Any:
    """A plan from a file or `-` (stdin); malformed JSON is a usage error with its position."""
    return read_json_arg(path if path == "-" else f"@{path}", "PLAN")


_PROGRESS = click.option(
    "--progress/--no-progress",
    default=None,
    help="Live progress on stderr (default: on a terminal, without --json).",
)


@click.command()
@click.argument("goal")
@click.option("--planner", default=None, help="Planner name (default: the profile's, 'stub').")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the plan here.")
@runtime_options("profile", "contract", "config")
@json_option
def plan(goal: str, planner: str | None, output: Path | None, as_json: bool, **options: Any) -> None:
    """Ask a planner for a plan for GOAL.

    The plan is validated against the skills' schemas before it is shown. The stub planner
    (the default) works offline; --planner claude needs ANTHROPIC_API_KEY and the network.

    \b
    Examples:
      aos plan 'fetch https://example.org/data.json, select `items[0]`' -o plan.json
      aos plan 'summarise the inventory' --planner claude --contract '{"max_money": "0.05"}'
    """
    with build_runtime(**options) as runtime:
        result = runtime.plan(goal, planner).model_dump(mode="json")
    if result["ok"] and output is not None:
        output.write_text(json.dumps(result["plan"], indent=2) + "\n", "utf-8")
    if as_json:
        emit(result)
    elif result["ok"]:
        click.echo(json.dumps(result["plan"], indent=2))
    if not result["ok"]:
        error = result["error"]
        if not as_json:
            for problem in result["problems"]:
                click.echo(f"  {where(problem)}: {problem['code']}: {problem['message']}", err=True)
        fail_with(error)


@click.command()
@click.argument("plan_path", metavar="PLAN")
@runtime_options("profile", "contract", "allow_net", "approve", "config")
@json_option
def simulate(plan_path: str, as_json: bool, **options: Any) -> None:
    """Check a plan and estimate its cost and latency; runs nothing.

    Runs the checks that would refuse a call at once, sending nothing: the policy (denied
    skills, network destinations), every ${secrets.NAME} set, each skill's own preflight (an
    API key present). Exit 0 when the plan is feasible; otherwise the code of the first
    problem's category.

    \b
    Examples:
      aos simulate plan.json
      aos simulate plan.json --contract '{"max_money": "0.01"}' --json
    """
    from aos_core.contracts.errors import catalog_entry

    document = _read_plan(plan_path)
    with build_runtime(**options) as runtime:
        report = runtime.simulate(document).model_dump(mode="json")
        contract = runtime.contract.model_dump(mode="json")
    if as_json:
        emit(report)
    else:
        click.echo(render_simulation(report, contract))
    if not report["feasible"]:
        first = report["problems"][0] if report["problems"] else {"code": "BUDGET_EXCEEDED", "message": "does not fit"}
        category = catalog_entry(first["code"]).category.value
        message = f"plan is not feasible: {where(first)}: {first['code']}: {first['message']}"
        fail(message, _exit_for(category), error_code=first["code"], category=category)


@click.command()
@click.argument("plan_path", metavar="PLAN", required=False)
@click.option(
    "--resume",
    metavar="RUN",
    default=None,
    help="Continue a run that was interrupted, with the contract, policy and seed it was recorded with.",
)
@click.option(
    "--repeat-in-flight",
    "repeat",
    multiple=True,
    metavar="STEP|all",
    help="With --resume: run again a step that was in flight when the run stopped, even if it is not idempotent.",
)
@click.option(
    "--abandon-in-flight",
    "abandon",
    multiple=True,
    metavar="STEP|all",
    help="With --resume: record a step that was in flight as CANCELLED instead of running it again.",
)
@click.option(
    "--no-preflight",
    "skip_preflight",
    is_flag=True,
    help="Run even if the simulation finds problems or a worst case over the contract.",
)
@_PROGRESS
@runtime_options()
@json_option
def run(
    plan_path: str | None,
    resume: str | None,
    repeat: tuple[str, ...],
    abandon: tuple[str, ...],
    skip_preflight: bool,
    progress: bool | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Run a plan, recording a durable, replayable trace.

    Before the first step the plan is simulated: a worst case over the contract (exit 5) or a
    problem the simulation finds (a refused destination, a missing secret or key: its
    category's exit code) refuses the plan, nothing spent (the error names the first problem,
    its details carry the first 20 and problems_total; aos simulate lists them all);
    --no-preflight runs it anyway, each call still reserving its worst case. Exit 0 when
    every step succeeded, else the code of the first failed step's category. Ctrl-C (or
    SIGTERM) stops the run, records it interrupted and exits 130 (143); resume it with
    --resume RUN.

    \b
    Examples:
      aos run plan.json --contract '{"max_money": "0.05"}'
      aos run --resume 20250101T120000-a1b2c3
    """
    if (plan_path is None) == (resume is None):
        raise click.UsageError("give a PLAN, or --resume RUN")
    if (repeat or abandon) and resume is None:
        raise click.UsageError("--repeat-in-flight and --abandon-in-flight go with --resume RUN")
    from aos_core.cli.records import note_cost_warnings

    document = _parsed_file(plan_path) if plan_path is not None else None
    with build_runtime(**options) as runtime:
        if resume is not None:
            refuse_changes_on_resume(runtime, resume, options)
        if document is not None and not skip_preflight:
            refusal = preflight_refusal(runtime, document, plan_path or "-")
            if refusal is not None:
                message, refused = refusal
                data = {"ok": False, "run_id": None, "status": "refused", "error": refused}
                fail_with(refused, message, data=data)
        with running(runtime, progress, as_json, "run") as watch:
            try:
                ran = runtime.run(
                    document, resume=resume, repeat_in_flight=repeat, abandon_in_flight=abandon, on_event=watch
                )
            except KeyboardInterrupt:
                watch.stop()
                interrupted_run(runtime, watch.run_id or resume)
        # inside: the outcomes are read from the run store as they are shown
        result = run_json(ran)
        warned = note_cost_warnings(o.model_dump(mode="json") for o in ran.outcomes.values() if o.cost_warning)
        if as_json:
            emit_text(run_json_text(ran))
        else:
            lines = render_run(result)
            while batch := list(islice(lines, 1024)):  # written as made: a line per step
                click.echo("\n".join(batch))
            if warned:
                click.echo(f"aos: note: {warned} cost warning(s) from estimators (see aos plugins)", err=True)
        failed = result["outcomes"].get(result["failed_step"] or "") or {}
    if result["ok"]:
        return
    run_id = result["run_id"]
    if result["status"] == "interrupted" and result["not_repeated"]:
        steps = ",".join(result["not_repeated"])
        fail(
            f"run {run_id} waits for a decision on step(s) {steps}, in flight when it stopped: "
            f"aos run --resume {run_id} --repeat-in-flight STEP (or --abandon-in-flight STEP)",
            _exit_for("TRANSIENT"),
            error_code="RUN_BUSY",
            category="TRANSIENT",
        )
    error: dict[str, Any] | None = result["error"] or failed.get("error")
    if error:
        where = f"run {run_id} failed at step {result['failed_step']}: " if result["failed_step"] else ""
        fail_with(error, f"{where}{error['code']}: {error['message']}")
    fail(f"run {run_id} did not complete ({result['status']})", _exit_for("PERMANENT"))


@click.command()
@click.option(
    "--limit", type=click.IntRange(0, 1_000_000_000), default=20, show_default=True, help="How many runs to list."
)
@runtime_options("store")
@json_option
def runs(limit: int, as_json: bool, **options: Any) -> None:
    """List recorded runs.

    STEPS counts the steps that succeeded out of the plan's steps.

    \b
    Examples:
      aos runs --limit 5
      aos runs --json --store ./runs.sqlite3
    """
    with build_runtime(**options) as runtime:
        rows = [r.model_dump(mode="json") for r in runtime.runs(limit)]
    if as_json:
        emit({"runs": rows})
        return
    body = [
        [r["run_id"], _status(r), f"{r['committed'] - (1 if r['failed_step'] else 0)}/{r['steps']}", r["created_at"],
         _goal(r["goal"], 60)]
        for r in rows
    ]  # fmt: skip
    click.echo(table(body, ["RUN", "STATUS", "STEPS", "CREATED", "GOAL"]))


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--trace", "as_trace", is_flag=True, help="Write the canonical trace as JSON Lines to stdout.")
@runtime_options("store")
@json_option
def show(run_id: str, as_trace: bool, as_json: bool, **options: Any) -> None:
    """Show a recorded run, or export its trace as JSON Lines.

    \b
    Examples:
      aos show 20250101T120000-a1b2c3
      aos show 20250101T120000-a1b2c3 --trace > run.jsonl
    """
    import sys

    with build_runtime(**options) as runtime:
        stored = runtime.store.load_run(run_id)
    if as_trace:
        sys.stdout.write(stored.trace.text())
        return
    trace = stored.trace
    data = {
        "run_id": stored.run_id,
        "status": stored.status,
        "goal": trace.plan.get("goal", ""),
        "steps": [trace.steps[s]["outcome"] for s in trace.step_order()],
        "in_flight": stored.in_flight,
        "end": trace.end,
    }
    if as_json:
        emit(data)
        return
    lines = [f"run {stored.run_id}  {stored.status}  {_goal(data['goal'], 200)}"]
    lines += [render_outcome(outcome) for outcome in data["steps"]]
    if stored.in_flight:
        lines.append(f"in flight when it stopped: {', '.join(stored.in_flight)}  (aos run --resume {stored.run_id})")
    if trace.end:
        spent = trace.end["spent"]
        lines.append(f"spent {show_money(spent['money'])} {spent['currency']}, {spent['calls']} call(s)")
    click.echo("\n".join(lines))


@click.command()
@click.argument("source", metavar="RUN|FILE")
@click.option("--plan", "plan_path", default=None, help="Replay against this plan instead of the recorded one.")
@_PROGRESS
@runtime_options("config", "store")
@json_option
def replay(source: str, plan_path: str | None, progress: bool | None, as_json: bool, **options: Any) -> None:
    """Replay a recorded run or trace file and check it matches.

    Exit 0 when the replay matched byte for byte; 7 (NON_DETERMINISTIC) when it diverged.
    A replay sends nothing and spends nothing; Ctrl-C stops it (exit 130).

    \b
    Examples:
      aos replay 20250101T120000-a1b2c3
      aos show RUN --trace > run.jsonl && aos replay run.jsonl --plan changed-plan.json
    """
    from aos_core.cli.interrupts import signal_exit
    from aos_core.contracts.exceptions import TraceError

    document = _read_plan(plan_path) if plan_path else None
    with build_runtime(**options) as runtime, running(runtime, progress, as_json, "replay") as watch:
        try:
            replayed = runtime.replay(source, plan=document, on_event=watch)
        except KeyboardInterrupt:
            watch.stop()
            code = signal_exit()
            fail(
                f"interrupted: the replay of {source} stopped; it changed nothing",
                code,
                error_code="TERMINATED" if code == 143 else "INTERRUPTED",
                category="INTERRUPTED",
            )
        except TraceError as exc:
            raise TraceError(_not_a_trace(source) or str(exc)) from None
        result = run_json(replayed)
        if as_json:
            emit_text(run_json_text(replayed))  # inside: the outcomes are read from the recording
        elif result["matched"]:
            click.echo(
                f"replay matched: {len(result['outcomes'])} step(s), {len(result['reexecuted'])} re-executed, "
                f"canonical trace sha256 {result['trace_sha256']}"
            )
    if not result["matched"]:
        div = result["divergence"] or {}
        if not as_json:
            click.echo(f"  recorded: {json.dumps(div.get('recorded'))[:400]}")
            click.echo(f"  actual:   {json.dumps(div.get('actual'))[:400]}")
        fail_with(result["error"], result["error"]["message"])


def _not_a_trace(source: str) -> str | None:
    """For a plan file given to `aos replay`, a message that says so (it is valid JSON, not a trace)."""
    try:
        data = json.loads(Path(source).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and "steps" in data and "kind" not in data:
        return (
            f"{source} is a plan, not a trace: replay takes a run id or a trace file (aos show RUN --trace > "
            f"run.jsonl); to run the plan: aos run {source}"
        )
    return None


def _exit_for(category: str) -> int:
    from aos_core.cli.io import exit_code_for

    return exit_code_for(category)


def _status(row: dict[str, Any]) -> str:
    return f"{row['status']} at {row['failed_step']}" if row.get("failed_step") else str(row["status"])


def _parsed_file(path: str) -> Any:
    """The plan in a file as a `Plan`, its steps validated one at a time as their data is dropped
    (`steps_validated`: the peak of `aos run`'s memory was the plan held twice, bench case 6).
    A file that is not a valid plan is read again as data, for its errors to be shown as before."""
    from pydantic_core import from_json

    from aos_core.contracts.plan import Plan, steps_validated
    from aos_core.contracts.plan_text import data_with_steps

    if path != "-":
        try:
            # its steps read from the text one at a time (plan_text.py): the whole text parsed
            # first was 55 MiB of data for 100,000 steps, the peak of reading the plan
            text = Path(path).read_bytes().decode("utf-8")
            data = data_with_steps(text, ("steps",))
            return Plan.model_validate(steps_validated(from_json(text)) if data is None else data)
        except (OSError, ValueError):  # pydantic's ValidationError is a ValueError
            pass
    return _parsed(_read_plan(path))


def _parsed(document: Any) -> Any:
    """The plan as a `Plan`, parsed once for the preflight and the run (a large plan's JSON is not
    kept beside it); a document that does not parse goes on as it is, for the run to refuse with
    every problem named."""
    from pydantic import ValidationError

    from aos_core.contracts.plan import Plan

    try:
        return Plan.model_validate(document)
    except ValidationError:
        return document


def _goal(text: str, limit: int) -> str:
    """A goal as one line for a person (`--json` has all of it): a goal may be megabytes long, or
    hold line breaks that would break the table."""
    from aos_core.plugins.explain import one_line

    return one_line(text, limit) if text.strip() else ""
