"""`aos plugin new`: write a ready plugin distribution (the install commands are in `installing.py`)."""

from __future__ import annotations

import os
from pathlib import Path

import click

from aos_core.cli.io import emit
from aos_core.cli.options import json_option


@click.group()
def plugin() -> None:
    """Tools for plugin authors (aos plugin new NAME)."""


@plugin.command("new")
@click.argument("name")
@click.option(
    "--kind",
    type=click.Choice(["skill", "planner", "classifier", "estimator"]),
    default="skill",
    show_default=True,
    help="What the plugin contributes.",
)
@click.option(
    "--dir",
    "parent",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("."),
    help="Where to create the distribution's folder (default: here).",
)
@json_option
def new(name: str, kind: str, parent: Path, as_json: bool) -> None:
    """Write a ready plugin distribution NAME (e.g. aos-skill-weather).

    It holds a pyproject.toml with the `aos` entry point, the plugin module (a small working
    example with full metadata), tests using aos-core's pytest fixtures and contract checks,
    and a README. An existing folder is never overwritten.

    \b
    Examples:
      aos plugin new aos-skill-weather
      aos plugin new aos-estimator-acme --kind estimator --dir plugins
    """
    from aos_core.cli.scaffold import BadName, blueprint, write

    try:
        plan = blueprint(name, kind)
        _refuse_taken(name, plan.kind, plan.name)
        target, written = write(plan, parent)
    except (BadName, FileExistsError) as exc:
        raise click.UsageError(str(exc)) from None
    result = {
        "ok": True,
        "distribution": plan.dist,
        "package": plan.package,
        "kind": plan.kind,
        "name": plan.name,
        "entry_point": plan.entry_point,
        "path": str(target),
        "files": written,
    }
    if as_json:
        emit(result)
        return
    listing = "skills" if kind == "skill" else "plugins"
    shown = str(target) if target.is_absolute() else f".{os.sep}{target}"  # pip wants a path-like name
    click.echo(f"Created {plan.dist} in {shown} ({kind} {plan.name!r}, entry point {plan.entry_point}):")
    click.echo("\n".join(f"  {path}" for path in written))
    click.echo(f"Next:\n  aos install -e {shown}\n  pytest {shown}\n  aos {listing}")


def _refuse_taken(raw: str, kind: str, name: str) -> None:
    """A skill (planner) name an installed plugin already provides would knock out both skills
    (shadow the planner): refuse it before writing anything."""
    from aos_core.cli.discovered import discovered
    from aos_core.cli.scaffold import BadName

    field = {"skill": "skills", "planner": "planners"}.get(kind)
    if field is None:
        return
    for report in discovered()["plugins"]:
        if report["status"] == "loaded" and name in report[field]:
            origin = f"{report['distribution']} {report['version']}" if report["distribution"] else report["module"]
            raise BadName(
                f"{raw!r} would make the {kind} {name!r}, which plugin {report['name']!r} ({origin}) already "
                f"provides; two {kind}s of one name {'are both refused' if kind == 'skill' else 'shadow each other'}"
                f", so choose another name, e.g. aos-{kind}-my-{name.replace('_', '-')}"
            )
