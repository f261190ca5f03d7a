"""Work commands: exec and query."""

from __future__ import annotations

from typing import Any

import click

from aos_core.cli.io import EXIT_USAGE, emit, exit_code_for, fail, read_json_arg, render_outcome
from aos_core.cli.options import build_runtime, json_option, runtime_options


@click.command("exec")
@click.argument("skill")
@click.option("--params", "params", metavar="JSON|@FILE|-", default="{}", help="The skill's parameters.")
@runtime_options
@json_option
def exec_(skill: str, params: str, as_json: bool, **options: Any) -> None:
    """Execute one skill and print its outcome.

    The exit code is 0 when the outcome is ok, else the code of its error category.
    """
    parsed = read_json_arg(params, "--params")
    with build_runtime(**options) as runtime:
        outcome = runtime.execute(skill, parsed).model_dump(mode="json")
    if as_json:
        emit(outcome)
    else:
        click.echo(render_outcome(outcome))
    if not outcome["ok"]:
        error = outcome["error"]
        fail(f"{error['code']}: {error['message']}", exit_code_for(error["category"]), as_json=False)


@click.command()
@click.argument("key")
@click.option("--params", "params", metavar="JSON|@FILE|-", default=None, help="Query parameters.")
@runtime_options
@json_option
def query(key: str, params: str | None, as_json: bool, **options: Any) -> None:
    """Ask the runtime what it knows (budget, skills, state...).

    KEY is one of budget, history, state, skills, plugins, contracts. History takes
    {"skill", "status": "ok"|"failed", "code", "limit"}.
    """
    import json

    parsed = read_json_arg(params, "--params") or {}
    with build_runtime(**options) as runtime:
        try:
            result = runtime.query(key, parsed)
        except ValueError as exc:
            fail(str(exc), EXIT_USAGE, as_json=False)
    if as_json:
        emit(result)
    else:
        click.echo(json.dumps(result, indent=2, ensure_ascii=False))
