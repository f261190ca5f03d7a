"""Commands for plugin authors and users: `aos plugin new`, `aos install`, `aos uninstall`.

`install`/`uninstall` run pip with the interpreter running `aos` (so plugins land where `aos`
finds them), keep pip's output on stderr (stdout stays clean for --json), and compare the
distributions and `aos` entry points before and after to say what changed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from aos_core.cli.io import EXIT_CODES, EXIT_INTERNAL, emit, fail
from aos_core.cli.options import json_option

_KINDS = ("skills", "planners", "classifiers", "estimators")
_PASS_THROUGH = {"ignore_unknown_options": True, "help_option_names": ["-h", "--help"]}


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


@dataclass(frozen=True)
class _Dist:
    name: str
    version: str
    plugins: tuple[str, ...]  # "name = module" of each entry point in the group aos
    requested: bool  # named by the user, not pulled in as a dependency


@click.command(context_settings=_PASS_THROUGH)
@click.argument("args", nargs=-1, required=True, type=click.UNPROCESSED)
@json_option
def install(args: tuple[str, ...], as_json: bool) -> None:
    """Install plugin distributions into aos's environment.

    ARGS go to `python -m pip install` as given: names, paths, `-e PATH`, `-U`, `--no-deps`...
    Then shows the plugins added and their skills. Every distribution you named is checked, even
    one pip left as it was: exit 3 when one is not an AOS plugin (it has no entry point in the
    group `aos`; it stays installed) or one of its plugins fails to load; 1 when pip fails.
    """
    import tempfile

    before = _distributions()
    with tempfile.TemporaryDirectory(prefix="aos-install-") as scratch:
        report = Path(scratch) / "report.json"
        code = _pip("install", *args, *(() if "--report" in args else ("--report", str(report))))
        named = _named(args) | _installed_by(report)
    after = _distributions()
    changed = [d for name, d in sorted(after.items()) if before.get(name) != d]
    checked = changed + [d for name, d in sorted(after.items()) if name in named and before.get(name) == d]
    reports = _plugin_reports() if any(d.plugins for d in checked) else []
    names = {d.name for d in checked}
    added = [r for r in reports if r.get("distribution") in names]
    not_plugins = [d.name for d in checked if (d.requested or d.name in named) and not d.plugins]
    broken = [r for r in added if r["status"] == "failed"]
    result = {
        "ok": code == 0 and not not_plugins and not broken,
        "pip_exit_code": code,
        "distributions": [_dist_json(d, before.get(d.name)) for d in changed],
        "plugins": added,
        "not_plugins": not_plugins,
    }
    if as_json:
        emit(result)
    else:
        _show_install(checked, added, not_plugins, before)
    if code != 0:
        fail(f"pip install failed (exit {code}); see pip's output above", EXIT_INTERNAL, as_json=False)
    if not_plugins or broken:
        problems = [f"{n} is not an AOS plugin (no entry point in the group 'aos')" for n in not_plugins]
        problems += [f"plugin {r['name']} failed to load: {r['reason']}" for r in broken]
        fail("; ".join(problems), EXIT_CODES["VALIDATION"], as_json=False)


@click.command(context_settings=_PASS_THROUGH)
@click.argument("names", nargs=-1, required=True, type=click.UNPROCESSED)
@json_option
def uninstall(names: tuple[str, ...], as_json: bool) -> None:
    """Remove plugin distributions from aos's environment.

    NAMES go to `python -m pip uninstall -y`. Then shows the plugins removed and their skills.
    A name that is not installed is reported and skipped. Exit 1 when pip fails; aos-core itself
    is refused (exit 2): remove it with pip.
    """
    if "aos-core" in {_canonical(n) for n in names}:
        raise click.UsageError("aos uninstall removes plugins, not aos-core itself; use pip uninstall aos-core")
    before = _distributions()
    reports = _plugin_reports()
    code = _pip("uninstall", "-y", *names)
    after = _distributions()
    removed = [d for name, d in sorted(before.items()) if name not in after]
    gone = {d.name for d in removed}
    wanted = [_canonical(n) for n in names if not n.startswith("-")]
    result: dict[str, Any] = {
        "ok": code == 0,
        "pip_exit_code": code,
        "distributions": [_dist_json(d, None) for d in removed],
        "plugins": [r for r in reports if r.get("distribution") in gone],
        "not_installed": [n for n in wanted if n not in before],
    }
    if as_json:
        emit(result)
    else:
        for dist in removed:
            provided = [r for r in result["plugins"] if r.get("distribution") == dist.name]
            what = "; ".join(_describe(r) for r in provided) or "not an AOS plugin"
            click.echo(f"Removed {dist.name} {dist.version}: {what}")
        for name in result["not_installed"]:
            click.echo(f"{name} is not installed; nothing to remove")
    if code != 0:
        fail(f"pip uninstall failed (exit {code}); see pip's output above", EXIT_INTERNAL, as_json=False)


def _distributions() -> dict[str, _Dist]:
    """Installed distributions by canonical name (the first on sys.path wins, as for imports)."""
    import importlib

    from importlib_metadata import distributions

    from aos_core.plugins.discovery import ENTRY_POINT_GROUP

    importlib.invalidate_caches()
    found: dict[str, _Dist] = {}
    for dist in distributions():
        raw = dist.metadata["Name"] if dist.metadata is not None else None
        if not raw or _canonical(raw) in found:
            continue
        plugins = tuple(sorted(f"{ep.name} = {ep.value}" for ep in dist.entry_points if ep.group == ENTRY_POINT_GROUP))
        requested = dist.read_text("REQUESTED") is not None
        found[_canonical(raw)] = _Dist(_canonical(raw), dist.version, plugins, requested)
    return found


_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)")
_OPTIONS_WITH_VALUE = {
    "-r", "--requirement", "-c", "--constraint", "-i", "--index-url", "--extra-index-url", "-f",
    "--find-links", "-t", "--target", "--prefix", "--root", "--report", "--config-settings", "-C",
    "--platform", "--python-version", "--implementation", "--abi", "--src", "--upgrade-strategy",
    "--progress-bar", "--trusted-host", "--proxy", "--cert", "--client-cert", "--cache-dir", "--log",
}  # fmt: skip


def _named(args: tuple[str, ...]) -> set[str]:
    """Canonical names of the distributions the user named: requirements, and the projects of
    paths (`-e PATH` or `PATH`) that say their name in pyproject.toml."""
    import tomllib

    names: set[str] = set()
    skip_next = False
    for arg in args:
        if skip_next:
            skip_next = False
            continue
        if arg in _OPTIONS_WITH_VALUE:
            skip_next = True
            continue
        if arg.startswith("-"):
            continue
        path = Path(arg)
        if path.is_dir():
            try:
                project = tomllib.loads((path / "pyproject.toml").read_text("utf-8")).get("project", {})
            except (OSError, ValueError):
                continue
            if isinstance(project.get("name"), str):
                names.add(_canonical(project["name"]))
            continue
        match = _REQUIREMENT_NAME.match(arg)
        if match and not path.exists() and "://" not in arg:
            names.add(_canonical(match[1]))
    return names


def _installed_by(report: Path) -> set[str]:
    """Canonical names pip says it installed (its `--report`), reinstalls of the same version included."""
    try:
        data = json.loads(report.read_text("utf-8"))
        return {_canonical(item["metadata"]["name"]) for item in data.get("install", []) if item.get("requested")}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def _canonical(name: str) -> str:
    """A distribution name as `aos plugins` reports it (PEP 503, lowercase with '-')."""
    return re.sub(r"[-_.]+", "-", name.strip()).lower()


def _pip(*args: str) -> int:
    """Run pip with aos's interpreter; its output goes to our stderr."""
    command = [sys.executable, "-m", "pip", *args]
    try:
        stream: Any = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # a captured stderr (tests, embedding) has no descriptor
        stream = None
    if stream is not None:
        sys.stderr.flush()
        return subprocess.run(command, stdout=stream, stderr=stream, stdin=subprocess.DEVNULL, check=False).returncode
    done = subprocess.run(command, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
    click.echo(done.stdout + done.stderr, err=True, nl=False)
    return done.returncode


def _plugin_reports() -> list[dict[str, Any]]:
    """What `aos plugins --json` says, from a fresh interpreter that sees what pip just changed."""
    done = subprocess.run(
        [sys.executable, "-m", "aos_core", "plugins", "--json"],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    try:
        reports: list[dict[str, Any]] = json.loads(done.stdout)["plugins"]
    except (ValueError, KeyError, TypeError):
        fail(f"could not list plugins after pip: {done.stderr.strip()[-300:]}", EXIT_INTERNAL, as_json=False)
    return reports


def _dist_json(dist: _Dist, previous: _Dist | None) -> dict[str, Any]:
    return {
        "name": dist.name,
        "version": dist.version,
        "previous_version": previous.version if previous else None,
        "requested": dist.requested,
        "entry_points": list(dist.plugins),
    }


def _describe(report: dict[str, Any]) -> str:
    if report["status"] == "failed":
        return f"plugin {report['name']} FAILED to load: {report['reason']}"
    provided = "; ".join(f"{kind}: {', '.join(report[kind])}" for kind in _KINDS if report[kind])
    return f"plugin {report['name']}" + (f" ({provided})" if provided else "")


def _show_install(
    checked: list[_Dist],
    added: list[dict[str, Any]],
    not_plugins: list[str],
    before: dict[str, _Dist],
) -> None:
    if not checked:
        click.echo("No distribution was added or changed.")
    for dist in checked:
        old = before.get(dist.name)
        if old is None:
            verb = "Installed"
        elif old == dist:
            verb = "Unchanged"
        else:
            verb = f"Updated (was {old.version})"
        provided = [r for r in added if r.get("distribution") == dist.name]
        if provided:
            click.echo(f"{verb} {dist.name} {dist.version}: " + "; ".join(_describe(r) for r in provided))
        elif dist.name in not_plugins:
            click.echo(
                f"{verb} {dist.name} {dist.version}: not an AOS plugin (no entry point in the group 'aos'); "
                f"remove it with: aos uninstall {dist.name}"
            )
        else:
            click.echo(f"{verb} {dist.name} {dist.version} (a dependency)")
