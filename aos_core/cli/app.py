"""The root `aos` group. Commands are imported only when invoked, so `aos --help` stays cheap."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from aos_core import __version__

# name -> (module:attribute, one-line help). The help text here is what `aos --help` shows;
# a test checks it equals each command's own first help line.
COMMANDS: dict[str, tuple[str, str]] = {
    "plugins": ("aos_core.cli.discovery:plugins", "List plugins and whether each loaded."),
    "skills": ("aos_core.cli.discovery:skills", "List the skills the loaded plugins provide."),
    "describe": ("aos_core.cli.discovery:describe", "Show one skill's full metadata and schemas."),
    "schema": ("aos_core.cli.discovery:schema", "Print the JSON Schema of a contract model."),
    "failures": ("aos_core.cli.discovery:failures", "Print the failure catalog: codes, categories, recovery."),
    "exec": ("aos_core.cli.work:exec_", "Execute one skill and print its outcome."),
    "query": ("aos_core.cli.work:query", "Ask the runtime what it knows (budget, skills, state...)."),
    "plan": ("aos_core.cli.runs:plan", "Ask a planner for a plan for GOAL."),
    "simulate": ("aos_core.cli.runs:simulate", "Check a plan and estimate its cost and latency; runs nothing."),
    "run": ("aos_core.cli.runs:run", "Run a plan, recording a durable, replayable trace."),
    "runs": ("aos_core.cli.runs:runs", "List recorded runs."),
    "show": ("aos_core.cli.runs:show", "Show a recorded run, or export its trace as JSON Lines."),
    "replay": ("aos_core.cli.runs:replay", "Replay a recorded run or trace file and check it matches."),
    "memory": ("aos_core.cli.memory:memory", "Put, get, search and delete items of the memory store."),
    "demo": ("aos_core.cli.demo:demo", "Run the offline demo: simulate, run and replay a three-skill plan."),
    "plugin": ("aos_core.cli.authoring:plugin", "Tools for plugin authors (aos plugin new NAME)."),
    "install": ("aos_core.cli.authoring:install", "Install plugin distributions into aos's environment."),
    "uninstall": ("aos_core.cli.authoring:uninstall", "Remove plugin distributions from aos's environment."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="aos", message="%(prog)s %(version)s")
def cli() -> None:
    """AOS: run machine-native agents with declared costs, structured failures and exact replay.

    Every command takes --json for machine output. Exit codes: 0 ok, 1 internal error,
    2 usage error, 3 validation, 4 permission, 5 resource, 6 transient, 7 permanent.
    """


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="aos")
