"""`aos install` and `aos uninstall`: plugins into and out of aos's own environment.

`install`/`uninstall` install into the environment of the interpreter running `aos` (so plugins
land where `aos` finds them): with pip when that environment has it (a pip venv, pipx), else with
uv (`uv tool` environments have no pip); they keep the installer's output on stderr (stdout stays
clean for --json), compare the distributions and `aos` entry points before and after to say what
changed, and remember what they installed in $AOS_HOME (`aos plugins` marks it).

Why pip first: it is the environment's own installer, so every pip option a user passes works as
documented, and its `--report` names what it installed. Measured on this project's machine (2
cores, warm caches), uv installs the same thing 3-8x faster (a local editable plugin 0.3-0.5 s
against 0.7-1.2 s; aos-skill-http with its dependencies 0.3-0.6 s against 2.7-2.9 s), but
depending on pip, as llm does, would add pip to every `uv tool install aos-core` for the rare
install that needs it.
"""

from __future__ import annotations

import json
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

    ARGS go to `python -m pip install` as given (names, paths, `-e PATH`, `-U`, `--no-deps`...),
    or to `uv pip install` where the environment has no pip (`uv tool`). Then shows the plugins
    added and their skills. Every distribution you named is checked, even one left as it was:
    exit 3 when one is not an AOS plugin (no entry point in the group `aos`; it stays installed)
    or one of its plugins fails to load; 1 when the installer fails. `aos plugins` marks what
    `aos install` installed: `uv tool upgrade aos-core` drops it, so keep it with
    `uv tool install aos-core --with PLUGIN`.

    \b
    Examples:
      aos install aos-skill-weather
      aos install -e ./aos-skill-weather --json
    """
    import tempfile

    installer = _installer()
    before = _distributions()
    with tempfile.TemporaryDirectory(prefix="aos-install-") as scratch:
        report = Path(scratch) / "report.json"
        wants_report = installer.name == "pip" and "--report" not in args
        code = _run(installer, "install", *args, *(("--report", str(report)) if wants_report else ()))
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
    result["installer"] = installer.name
    plugins_added = {d.name: {"version": d.version, "installer": installer.name} for d in checked if d.plugins}
    if plugins_added:
        from aos_core.cli.records import note_installed

        note_installed(plugins_added)
    if as_json:
        emit(result)
    else:
        _show_install(checked, added, not_plugins, before)
    if code != 0:
        fail(
            f"{installer.name} install failed (exit {code}); see its output above",
            EXIT_INTERNAL,
            error_code="INSTALL_FAILED",
        )
    if not_plugins or broken:
        problems = [f"{n} is not an AOS plugin (no entry point in the group 'aos')" for n in not_plugins]
        problems += [f"plugin {r['name']} failed to load: {r['reason']}" for r in broken]
        fail("; ".join(problems), EXIT_CODES["VALIDATION"], error_code="PLUGIN_FAILED")


@click.command(context_settings=_PASS_THROUGH)
@click.argument("names", nargs=-1, required=True, type=click.UNPROCESSED)
@json_option
def uninstall(names: tuple[str, ...], as_json: bool) -> None:
    """Remove plugin distributions from aos's environment.

    NAMES go to `python -m pip uninstall -y` (or `uv pip uninstall` where there is no pip). Then
    shows the plugins removed and their skills. A name that is not installed is reported and
    skipped (exit 0). Exit 1 when the installer fails; aos-core itself is refused (exit 2).

    \b
    Examples:
      aos uninstall aos-skill-weather
      aos uninstall aos-skill-weather aos-skill-storm --json
    """
    if "aos-core" in {_canonical(n) for n in names}:
        raise click.UsageError("aos uninstall removes plugins, not aos-core itself; use pip uninstall aos-core")
    before = _distributions()
    wanted = [_canonical(n) for n in names if not n.startswith("-")]
    present = [n for n in names if n.startswith("-") or _canonical(n) in before]
    reports = _plugin_reports()
    installer = _installer()
    code = 0
    if any(not n.startswith("-") for n in present):  # nothing to remove: the installer is not asked
        code = _run(installer, "uninstall", *(("-y",) if installer.name == "pip" else ()), *present)
    after = _distributions()
    removed = [d for name, d in sorted(before.items()) if name not in after]
    gone = {d.name for d in removed}
    if gone:
        from aos_core.cli.records import note_installed

        note_installed({}, removed=gone)
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
        fail(
            f"{installer.name} uninstall failed (exit {code}); see its output above",
            EXIT_INTERNAL,
            error_code="INSTALL_FAILED",
        )


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


@dataclass(frozen=True)
class _Installer:
    name: str  # "pip" or "uv"
    command: tuple[str, ...]  # before the subcommand (install, uninstall)
    after: tuple[str, ...] = ()  # right after the subcommand


def _installer() -> _Installer:
    """pip when aos's environment has it, else uv (on PATH, or the `uv` package) aimed at it."""
    import importlib.util
    import shutil

    if importlib.util.find_spec("pip") is not None:
        return _Installer("pip", (sys.executable, "-m", "pip"))
    uv = shutil.which("uv")
    if uv is None and importlib.util.find_spec("uv") is not None:
        from uv import find_uv_bin  # the uv package, when installed beside aos

        uv = find_uv_bin()
    if uv is None:
        fail(
            "this environment has no pip, and uv is not on PATH: install uv, or add plugins when installing aos: "
            "uv tool install aos-core --with PLUGIN (pipx install aos-core, then pipx inject aos-core PLUGIN)",
            EXIT_INTERNAL,
            error_code="INSTALL_FAILED",
        )
    return _Installer("uv", (uv, "pip"), ("--python", sys.executable))


def _run(installer: _Installer, subcommand: str, *args: str) -> int:
    """Run the installer on aos's environment; its output goes to our stderr."""
    command = [*installer.command, subcommand, *installer.after, *args]
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
