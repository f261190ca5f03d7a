"""Work commands: exec and query."""

from __future__ import annotations

from typing import Any

import click

from aos_core.cli.io import EXIT_USAGE, emit, fail, fail_with, read_json_arg, render_outcome
from aos_core.cli.options import build_runtime, json_option, runtime_options


@click.command("exec")
@click.argument("skill")
@click.option("--params", "params", metavar="JSON|@FILE|-", default="{}", help="The skill's parameters.")
@runtime_options("profile", "contract", "allow_net", "approve", "config", "seed")
@json_option
def exec_(skill: str, params: str, as_json: bool, **options: Any) -> None:
    """Execute one skill and print its outcome.

    The exit code is 0 when the outcome is ok, else the code of its error category; Ctrl-C
    stops the call (exit 130; SIGTERM 143).

    \b
    Examples:
      aos exec json_transform --params '{"expression": "a.b", "data": {"a": {"b": 1}}}'
      aos exec http_call --params @request.json --allow-net 127.0.0.1:8000 --json
    """
    from aos_core.cli.interrupts import handle_sigterm, signal_exit
    from aos_core.cli.records import note_cost_warnings

    parsed = read_json_arg(params, "--params")
    runtime = None
    if options.get("config_path") is None:  # the discovery report is of the default config
        from aos_core.cli.discovered import plugins_for_skill

        needed = plugins_for_skill(skill)
        if needed is not None:
            runtime = build_runtime(**options, entry_points=needed)
            if skill not in runtime.skills:  # the report was stale (a plugin edited in place)
                runtime.close()
                runtime = None
    with runtime or build_runtime(**options) as runtime, handle_sigterm():
        try:
            outcome = runtime.execute(skill, parsed).model_dump(mode="json")
        except KeyboardInterrupt:
            code = signal_exit()
            name = "TERMINATED" if code == 143 else "INTERRUPTED"
            message = f"interrupted: aos exec {skill} stopped before it finished"
            fail(message, code, error_code=name, category="INTERRUPTED", details={"skill": skill})
    warned = note_cost_warnings([outcome])
    if as_json:
        emit(outcome)
    elif outcome["ok"]:
        click.echo(render_outcome(outcome))
    if warned and not as_json:
        click.echo(f"aos: note: {outcome['cost_warning']['message']} (counted in aos plugins)", err=True)
    if not outcome["ok"]:
        fail_with(outcome["error"])


@click.command()
@click.argument("key")
@click.option(
    "--run",
    "run_id",
    metavar="RUN",
    default=None,
    help="For history, budget and state: the recorded run to read (default: the latest).",
)
@click.option("--params", "params", metavar="JSON|@FILE|-", default=None, help="Query parameters.")
@runtime_options("contract", "store")
@json_option
def query(key: str, run_id: str | None, params: str | None, as_json: bool, **options: Any) -> None:
    """Ask what the runtime knows (budget, history, state, skills...).

    KEY is one of budget, history, state, skills, plugins, contracts. history, budget and state
    answer from a recorded run: --run RUN, else the latest run in the store (with no run
    recorded, a fresh runtime's answer). History takes {"skill", "status": "ok"|"failed",
    "code", "limit"}.

    \b
    Examples:
      aos query state                      # the final state of the latest run
      aos query history --run 20250101T120000-a1b2c3 --params '{"status": "failed"}'
    """
    import json

    from aos_core.cli.recorded import RECORDED_KEYS, latest_run, recorded_answer
    from aos_core.runtime import QUERY_KEYS

    if key not in QUERY_KEYS:
        raise click.UsageError(f"unknown query key {key!r}; use one of: {', '.join(QUERY_KEYS)}")
    if run_id is not None and key not in RECORDED_KEYS:
        raise click.UsageError(f"--run goes with {', '.join(RECORDED_KEYS)}, not {key}")
    parsed = read_json_arg(params, "--params") or {}
    with build_runtime(**options) as runtime:
        try:
            chosen = run_id or (latest_run(runtime.store) if key in RECORDED_KEYS else None)
            if chosen is not None:
                result = recorded_answer(key, runtime.store.load_run(chosen), parsed)
            else:
                result = runtime.query(key, parsed)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE)
    if as_json:
        emit(result)
    else:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
