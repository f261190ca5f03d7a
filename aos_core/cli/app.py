"""The root `aos` group. Commands are imported only when invoked, so `aos --help` stays cheap.

Plugins add commands through the hook `aos_register_commands`; `aos --help` lists them from the
discovery cache (no plugin imported when it is warm), and running one loads only its plugin.
"""

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
    "query": ("aos_core.cli.work:query", "Ask what the runtime knows (budget, history, state, skills...)."),
    "plan": ("aos_core.cli.runs:plan", "Ask a planner for a plan for GOAL."),
    "simulate": ("aos_core.cli.runs:simulate", "Check a plan and estimate its cost and latency; runs nothing."),
    "run": ("aos_core.cli.runs:run", "Run a plan, recording a durable, replayable trace."),
    "runs": ("aos_core.cli.runs:runs", "List recorded runs."),
    "show": ("aos_core.cli.runs:show", "Show a recorded run, or export its trace as JSON Lines."),
    "replay": ("aos_core.cli.runs:replay", "Replay a recorded run or trace file and check it matches."),
    "memory": ("aos_core.cli.memory:memory", "Put, get, search and delete items of the memory store."),
    "demo": ("aos_core.cli.demo:demo", "Run the offline demo: simulate, run and replay a three-skill plan."),
    "plugin": ("aos_core.cli.authoring:plugin", "Tools for plugin authors (aos plugin new NAME)."),
    "install": ("aos_core.cli.installing:install", "Install plugin distributions into aos's environment."),
    "uninstall": ("aos_core.cli.installing:uninstall", "Remove plugin distributions from aos's environment."),
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use; plugin commands are found through
    discovery unless `plugin_commands` is False (the generated CLI reference shows the core's)."""

    plugin_commands = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._plugin_of: dict[str, str] = {}  # plugin command -> the plugin that added it, once loaded

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Every failure is reported once, in one style (`cli/errors.py`), whoever calls `main`."""
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode, **extra)
        from aos_core.cli.errors import guarded

        argv = list(sys.argv[1:] if args is None else args)
        sys.exit(guarded(lambda: super(LazyGroup, self).main(argv, prog_name, complete_var, False, **extra), argv))

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        """An unknown command is a usage error naming the closest commands."""
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            import difflib

            close = difflib.get_close_matches(name, self.list_commands(ctx), n=3, cutoff=0.6)
            hint = f"; did you mean {' or '.join(close)}?" if close else "; 'aos --help' lists the commands"
            raise click.UsageError(f"no command {name!r}{hint}", ctx)
        return super().resolve_command(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        """A plugin command that raises ends with one line naming it and its plugin, not a traceback;
        an `AOSError` (a store that cannot be reached, a run not found) keeps its own code."""
        try:
            return super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            from aos_core.contracts.exceptions import AOSError

            name = ctx.invoked_subcommand or ""
            if name not in self._plugin_of or isinstance(exc, AOSError):
                raise
            from aos_core.cli.io import EXIT_INTERNAL, fail

            text = " ".join(str(exc).split())[:300] or "(no message)"
            message = f"`aos {name}` (plugin {self._plugin_of[name]}) failed: {type(exc).__name__}: {text}"
            fail(message, EXIT_INTERNAL, error_code="INTERNAL", details={"plugin": self._plugin_of[name]})

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = {*COMMANDS, *self.commands}
        if self.plugin_commands:
            names.update(c["name"] for c in self._from_plugins())
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        target = COMMANDS.get(cmd_name)
        if target is None:
            return self._plugin_command(cmd_name) if self.plugin_commands else None
        module_name, attr = target[0].split(":")
        command: click.Command = getattr(importlib.import_module(module_name), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in sorted(COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)
        if not self.plugin_commands:
            return
        try:
            added = self._from_plugins()
        except click.ClickException as exc:  # a broken config.toml: the core commands still show
            added = []
            formatter.write_paragraph()
            formatter.write_text(f"(plugin commands not listed: {exc.format_message()})")
        if added:
            with formatter.section("Commands added by plugins"):
                formatter.write_dl([(c["name"], f"{c['help']} [plugin {c['plugin']}]") for c in added])

    @staticmethod
    def _from_plugins() -> list[dict[str, str]]:
        """Listed from the cache on its cheap stamp (running one checks it fully), else discovered."""
        from aos_core.cli.discovery_cache import listed_commands
        from aos_core.cli.home import aos_home

        home = aos_home()
        listed = listed_commands(home, home / "config.toml")
        if listed is not None:
            return listed
        from aos_core.cli.discovered import plugin_commands

        return plugin_commands()

    def _plugin_command(self, name: str) -> click.Command | None:
        from aos_core.cli.discovered import load_plugin_command

        found = load_plugin_command(name)
        if found is None:
            return None
        command, plugin = found
        self.add_command(command, name)
        self._plugin_of[name] = plugin
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="aos", message="%(prog)s %(version)s")
def cli() -> None:
    """AOS: run machine-native agents with declared costs, structured failures and exact replay.

    Every command takes --json for machine output. Exit codes: 0 ok, 1 internal error,
    2 usage error, 3 validation, 4 permission, 5 resource, 6 transient, 7 permanent,
    130/143 interrupted (Ctrl-C, SIGTERM).

    JSON arguments (--params, --contract, --profile, a PLAN) are inline JSON, @FILE or - (stdin):
    UTF-8 with no lone surrogate escape, at most 100 levels of nesting and 64 MiB; anything
    else is a usage error.

    \b
    Getting started (offline, no key needed):
      aos skills                 # what the installed plugins provide
      aos demo                   # simulate, run and replay a three-skill plan
      aos runs                   # the demo's run: aos show RUN, aos replay RUN

    Docs: docs/cli.md (every command), docs/user_guide.md, docs/error_taxonomy.md in the
    AOS repository; `aos COMMAND --help` for one command.
    """


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point."""
    return cli.main(args=argv if argv is not None else sys.argv[1:], prog_name="aos")
