"""Planning and run commands: plan, simulate, run, runs, show, replay."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from aos_core.cli.io import EXIT_CODES, EXIT_USAGE, emit, exit_code_for, fail, read_json_arg, render_outcome, table
from aos_core.cli.options import build_runtime, json_option, runtime_options


def _read_plan(path: str) -> Any:
    """A plan from a file or `-` (stdin); malformed JSON is a usage error with its position."""
    return read_json_arg(path if path == "-" else f"@{path}", "PLAN")


@click.command()
@click.argument("goal")
@click.option("--planner", default=None, help="Planner name (default: the profile's, 'stub').")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Also write the plan here.")
@runtime_options
@json_option
def plan(goal: str, planner: str | None, output: Path | None, as_json: bool, **options: Any) -> None:
    """Ask a planner for a plan for GOAL.

    The plan is validated against the skills' schemas before it is shown.
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
                click.echo(f"  step {problem['step_id'] or '-'}: {problem['code']}: {problem['message']}", err=True)
        fail(f"{error['code']}: {error['message']}", exit_code_for(error["category"]), as_json=False)


@click.command()
@click.argument("plan_path", metavar="PLAN")
@runtime_options
@json_option
def simulate(plan_path: str, as_json: bool, **options: Any) -> None:
    """Check a plan and estimate its cost and latency; runs nothing.

    Exit 0 when the plan is feasible; otherwise the code of the first problem's category.
    """
    from aos_core.contracts.errors import catalog_entry

    document = _read_plan(plan_path)
    with build_runtime(**options) as runtime:
        report = runtime.simulate(document).model_dump(mode="json")
    if as_json:
        emit(report)
    else:
        click.echo(_render_simulation(report))
    if not report["feasible"]:
        first = report["problems"][0] if report["problems"] else {"code": "BUDGET_EXCEEDED", "message": "does not fit"}
        category = catalog_entry(first["code"]).category.value
        fail(f"plan is not feasible: {first['code']}: {first['message']}", exit_code_for(category), as_json=False)


@click.command()
@click.argument("plan_path", metavar="PLAN", required=False)
@click.option("--resume", metavar="RUN", default=None, help="Continue a run that was interrupted.")
@click.option(
    "--repeat-in-flight",
    "repeat",
    multiple=True,
    metavar="STEP|all",
    help="On --resume: run again a step that was in flight when the run stopped (repeatable).",
)
@click.option(
    "--abandon-in-flight",
    "abandon",
    multiple=True,
    metavar="STEP|all",
    help="On --resume: record a step that was in flight as CANCELLED instead (repeatable).",
)
@runtime_options
@json_option
def run(
    plan_path: str | None,
    resume: str | None,
    repeat: tuple[str, ...],
    abandon: tuple[str, ...],
    as_json: bool,
    **options: Any,
) -> None:
    """Run a plan, recording a durable, replayable trace.

    Exit 0 when every step succeeded, else the code of the first failed step's category. A
    resumed run whose in-flight steps with side effects were neither repeated nor abandoned stays
    resumable: it exits 7 and names them.
    """
    from aos_core.contracts.exceptions import RunBusy, StoreError
    from aos_core.runs.store import RunNotFound

    if (plan_path is None) == (resume is None):
        raise click.UsageError("give a PLAN, or --resume RUN")
    if (repeat or abandon) and resume is None:
        raise click.UsageError("--repeat-in-flight and --abandon-in-flight go with --resume RUN")
    document = _read_plan(plan_path) if plan_path is not None else None
    with build_runtime(**options) as runtime:
        try:
            outcome = runtime.run(document, resume=resume, repeat_in_flight=repeat, abandon_in_flight=abandon)
        except RunNotFound as exc:
            fail(str(exc), EXIT_USAGE, as_json=False)
        except RunBusy as exc:
            fail(str(exc), EXIT_CODES["TRANSIENT"], as_json=False)
        except StoreError as exc:
            fail(str(exc), EXIT_CODES["PERMANENT"], as_json=False)
        result = outcome.model_dump(mode="json")
    if as_json:
        emit(result)
    else:
        click.echo(_render_run(result))
    if not result["ok"]:
        error = result["error"] or (result["outcomes"].get(result["failed_step"] or "", {}) or {}).get("error")
        if error:
            fail(f"{error['code']}: {error['message']}", exit_code_for(error["category"]), as_json=False)
        if result["not_repeated"]:
            steps = ", ".join(result["not_repeated"])
            fail(
                f"run {result['run_id']} is waiting for a decision on {steps} (in flight when it stopped, with side "
                f"effects): aos run --resume {result['run_id']} --repeat-in-flight STEP|all or --abandon-in-flight "
                "STEP|all",
                EXIT_CODES["PERMANENT"],
                as_json=False,
            )
        fail(f"run {result['run_id']} did not complete", EXIT_CODES["PERMANENT"], as_json=False)


@click.command()
@click.option("--limit", default=20, show_default=True, help="How many runs to list.")
@runtime_options
@json_option
def runs(limit: int, as_json: bool, **options: Any) -> None:
    """List recorded runs."""
    with build_runtime(**options) as runtime:
        rows = [r.model_dump(mode="json") for r in runtime.runs(limit)]
    if as_json:
        emit({"runs": rows})
        return
    body = [[r["run_id"], r["status"], f"{r['committed']}/{r['steps']}", r["created_at"], r["goal"][:60]] for r in rows]
    click.echo(table(body, ["RUN", "STATUS", "STEPS", "CREATED", "GOAL"]))


@click.command()
@click.argument("run_id", metavar="RUN")
@click.option("--trace", "as_trace", is_flag=True, help="Write the canonical trace as JSON Lines to stdout.")
@runtime_options
@json_option
def show(run_id: str, as_trace: bool, as_json: bool, **options: Any) -> None:
    """Show a recorded run, or export its trace as JSON Lines."""
    from aos_core.runs.store import RunNotFound

    with build_runtime(**options) as runtime:
        try:
            stored = runtime.store.load_run(run_id)
        except RunNotFound as exc:
            fail(str(exc), EXIT_USAGE, as_json=False)
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
    lines = [f"run {stored.run_id}  {stored.status}  {data['goal']}"]
    lines += [render_outcome(outcome) for outcome in data["steps"]]
    if stored.in_flight:
        lines.append(f"in flight when it stopped: {', '.join(stored.in_flight)}  (aos run --resume {stored.run_id})")
    if trace.end:
        spent = trace.end["spent"]
        lines.append(f"spent {spent['money']} {spent['currency']}, {spent['calls']} call(s)")
    click.echo("\n".join(lines))


@click.command()
@click.argument("source", metavar="RUN|FILE")
@click.option("--plan", "plan_path", default=None, help="Replay against this plan instead of the recorded one.")
@runtime_options
@json_option
def replay(source: str, plan_path: str | None, as_json: bool, **options: Any) -> None:
    """Replay a recorded run or trace file and check it matches.

    Exit 0 when the replay matched byte for byte; 7 (NON_DETERMINISTIC) when it diverged; 2
    when there is nothing to replay (no such run, a run that never finished, not a trace).
    """
    from aos_core.contracts.exceptions import RunNotFinished
    from aos_core.runs.store import RunNotFound
    from aos_core.runs.trace import TraceError

    document = _read_plan(plan_path) if plan_path else None
    with build_runtime(**options) as runtime:
        try:
            result = runtime.replay(source, plan=document).model_dump(mode="json")
        except (RunNotFound, RunNotFinished, TraceError) as exc:
            fail(str(exc), EXIT_USAGE, as_json=False)
    if as_json:
        emit(result)
    elif result["matched"]:
        click.echo(
            f"replay matched: {len(result['outcomes'])} step(s), {len(result['reexecuted'])} re-executed, "
            f"canonical trace sha256 {result['trace_sha256']}"
        )
    if not result["matched"]:
        div = result["divergence"] or {}
        if not as_json:
            click.echo(f"replay diverged at step {div.get('step_id') or '-'}: {div.get('reason')}")
            click.echo(f"  recorded: {json.dumps(div.get('recorded'))[:400]}")
            click.echo(f"  actual:   {json.dumps(div.get('actual'))[:400]}")
        fail(result["error"]["message"], EXIT_CODES["PERMANENT"], as_json=False)


def _render_simulation(report: dict[str, Any]) -> str:
    cost = report["cost"]
    lines = [
        f"feasible: {'yes' if report['feasible'] else 'no'}   fits contract {report['contract']!r}: "
        f"{'yes' if report['fits_contract'] else 'no'}",
        "cost (low / expected / worst): "
        + " / ".join(f"{cost[k]['money']} {cost[k]['currency']}" for k in ("low", "expected", "worst"))
        + f"   calls {cost['worst']['calls']}, tokens in/out "
        + f"{cost['worst']['input_tokens']}/{cost['worst']['output_tokens']}",
        f"latency: {report['latency_ms']} ms along {' -> '.join(report['critical_path']) or '-'}",
    ]
    if report["needs_approval"]:
        lines.append(f"needs approval: {', '.join(report['needs_approval'])}")
    lines += [f"problem: step {p['step_id'] or '-'}: {p['code']}: {p['message']}" for p in report["problems"]]
    lines += [f"note: {w}" for w in report["warnings"]]
    return "\n".join(lines)


def _render_run(result: dict[str, Any]) -> str:
    if result["error"] and not result["run_id"]:
        return f"not started: {result['error']['message']}"
    lines = [render_outcome(o) for o in result["outcomes"].values()]
    if result["skipped"]:
        lines.append(f"skipped: {', '.join(result['skipped'])}")
    spent = result["spent"]
    lines.append(
        f"run {result['run_id']} {result['status']}: spent {spent['money']} {spent['currency']}, "
        f"{spent['calls']} call(s), tokens {spent['input_tokens']}/{spent['output_tokens']}"
    )
    if result["reused"]:
        lines.append(f"resumed: {len(result['reused'])} committed step(s) not run again")
    if result["not_repeated"]:
        lines.append(f"not repeated (in flight, side effects): {', '.join(result['not_repeated'])}")
    return "\n".join(lines)
