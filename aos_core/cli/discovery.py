"""Discovery commands: plugins, skills, describe, schema, failures."""

from __future__ import annotations

import json
from typing import Any

import click

from aos_core.cli.discovered import discovered
from aos_core.cli.io import EXIT_CODES, emit, fail, table
from aos_core.cli.options import json_option


@click.command()
@click.option("--strict", is_flag=True, help="Exit 3 when any plugin failed to load.")
@json_option
def plugins(strict: bool, as_json: bool) -> None:
    """List plugins and whether each loaded.

    A failed plugin is shown with the reason; the others keep working. Plugins installed with
    `aos install` are marked: `uv tool upgrade aos-core` (and pipx's upgrade) drops them, so
    install aos-core with them, e.g. `uv tool install aos-core --with aos-skill-weather`. Cost
    warnings (an estimator that priced a call above the worst case it reserved, or could not
    price it) seen by `aos exec` and `aos run` are counted per estimator.

    \b
    Examples:
      aos plugins
      aos plugins --strict --json
    """
    from aos_core.cli.records import cost_warnings, installed

    reports = discovered()["plugins"]
    failed = [r for r in reports if r["status"] == "failed"]
    ours = installed()
    warnings = cost_warnings()
    for report in reports:
        report["installed_by_aos"] = bool(report["distribution"]) and report["distribution"] in ours
    if as_json:
        emit({"plugins": reports, "installed_by_aos": ours, "cost_warnings": warnings})
    else:
        rows = []
        for r in reports:
            origin = f"{r['distribution']} {r['version']}" if r["distribution"] else r["module"]
            commands = [f"aos {c}" for c in r.get("commands", [])]
            gives = ", ".join(r["skills"] + r["planners"] + r["classifiers"] + r["estimators"] + commands)
            mark = " *" if r["installed_by_aos"] else ""
            rows.append([r["name"], r["status"], origin + mark, r["reason"] or gives])
        click.echo(table(rows, ["PLUGIN", "STATUS", "FROM", "PROVIDES / REASON"]))
        if ours:
            names = " ".join(f"--with {name}" for name in sorted(ours))
            click.echo(
                f"\n* installed with aos install. An upgrade with uv tool or pipx drops them; keep them with: "
                f"uv tool install aos-core {names}"
            )
        for estimator, counts in sorted(warnings.items()):
            click.echo(
                f"\ncost warnings from estimator {estimator}: {counts.get('overrun', 0)} overrun(s), "
                f"{counts.get('unpriced', 0)} unpriced; last ({counts.get('last_skill', '?')}): "
                f"{counts.get('last', '')}"
            )
    if strict and failed:
        names = ", ".join(r["name"] for r in failed)
        fail(f"{len(failed)} plugin(s) failed to load: {names}", EXIT_CODES["VALIDATION"], error_code="PLUGIN_FAILED")


@click.command()
@json_option
def skills(as_json: bool) -> None:
    """List the skills the loaded plugins provide.

    Discovery is cached under $AOS_HOME/cache until a plugin, aos-core or the configuration
    changes; AOS_NO_CACHE=1 skips the cache. A plugin that failed to load is counted on stderr.

    \b
    Examples:
      aos skills
      aos skills --json
    """
    found = discovered()
    metadata = found["skills"]
    failed = [r for r in found["plugins"] if r["status"] == "failed"]
    if as_json:
        emit({"skills": metadata})
    elif metadata:
        rows = [[m["name"], m["version"], _effects(m), m["description"]] for m in metadata]
        click.echo(table(rows, ["SKILL", "VERSION", "EFFECTS", "DESCRIPTION"]))
    else:
        click.echo(
            "No skills installed. Install some: aos install aos-skill-http aos-skill-json aos-skill-llm "
            "(or write one: aos plugin new aos-skill-NAME)"
        )
    if failed:
        click.echo(f"aos: {len(failed)} plugin(s) failed to load: see aos plugins", err=True)


@click.command()
@click.argument("skill")
@json_option
def describe(skill: str, as_json: bool) -> None:
    """Show one skill's full metadata and schemas.

    \b
    Examples:
      aos describe http_call
      aos describe llm_invoke --json
    """
    found = discovered()
    by_name = {m["name"]: m for m in found["skills"]}
    if skill not in by_name:
        from aos_core.contracts.errors import ErrorCode, make_error
        from aos_core.contracts.exceptions import UnknownSkill

        exc = UnknownSkill(skill, by_name)
        error = make_error(ErrorCode.SKILL_NOT_FOUND, str(exc), details={"suggestions": exc.suggestions})
        data = {"ok": False, "error": error.model_dump(mode="json")}
        fail(str(exc), EXIT_CODES["PERMANENT"], data=data)
    metadata = by_name[skill]
    if as_json:
        emit(metadata)
        return
    m = metadata
    lines = [
        f"{m['name']} {m['version']}: {m['description']}",
        f"  side effects: {m['side_effects']}   network: {_yes(m['network'])}   idempotent: {_yes(m['idempotent'])}"
        f"   deterministic: {_yes(m['deterministic'])}",
        f"  timeout: {m['timeout_ms']} ms   cost: {_pricing(m, found.get('estimators', {}).get(skill))}",
        f"  may fail with: {', '.join(m['failure_codes']) or '(runtime codes only)'}",
        f"  permissions: {', '.join(m['permissions']) or 'none'}",
        "  input:",
        *_fields(m["input_schema"]),
        "  output:",
        *_fields(m["output_schema"]),
    ]
    click.echo("\n".join(lines))


@click.command()
@click.argument("name", required=False)
@json_option
def schema(name: str | None, as_json: bool) -> None:
    """Print the JSON Schema of a contract model.

    Without NAME, list the models that have one.

    \b
    Examples:
      aos schema
      aos schema ResourceContract
    """
    from pydantic import TypeAdapter

    from aos_core.contracts import schema_models
    from aos_core.contracts.errors import ErrorCategory, ErrorCode

    known: dict[str, Any] = {**schema_models(), "ErrorCode": ErrorCode, "ErrorCategory": ErrorCategory}
    if name is None:
        if as_json:
            emit({"schemas": sorted(known)})
        else:
            click.echo("\n".join(sorted(known)))
        return
    if name not in known:
        import difflib

        close = difflib.get_close_matches(name, known, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(known))}"
        raise click.UsageError(f"no contract model named {name!r}{hint}")
    target = known[name]
    document = target.model_json_schema() if hasattr(target, "model_json_schema") else TypeAdapter(target).json_schema()
    if as_json:
        emit(document)
    else:
        click.echo(json.dumps(document, indent=2))


@click.command()
@json_option
def failures(as_json: bool) -> None:
    """Print the failure catalog: codes, categories, recovery.

    \b
    Examples:
      aos failures
      aos failures --json
    """
    from aos_core.contracts.errors import failure_catalog

    entries = [e.model_dump(mode="json") for e in failure_catalog()]
    if as_json:
        emit({"failures": entries})
        return
    rows = [
        [e["code"], e["category"], str(EXIT_CODES[e["category"]]), _yes(e["retryable"]), e["description"]]
        for e in entries
    ]
    click.echo(table(rows, ["CODE", "CATEGORY", "EXIT", "RETRY", "DESCRIPTION"]))


def _effects(m: dict[str, Any]) -> str:
    flags = [m["side_effects"]]
    if m["network"]:
        flags.append("net")
    if m["idempotent"]:
        flags.append("idempotent")
    if m["deterministic"]:
        flags.append("deterministic")
    return ",".join(flags)


def _pricing(m: dict[str, Any], estimator: dict[str, str] | None) -> str:
    """Who prices a call: the estimator chosen for the skill, else its metadata's cost model."""
    if estimator is not None:
        return f"priced per call by estimator {estimator['estimator']!r} (plugin {estimator['plugin']})"
    cost = m["cost"]
    text = f"{cost['money_per_call']} {cost['currency']} per call"
    return text + ("   (uses tokens, but no estimator prices it)" if cost["uses_tokens"] else "")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _fields(schema: dict[str, Any] | None) -> list[str]:
    if not schema:
        return ["    (none)"]
    required = set(schema.get("required", []))
    lines = []
    for field, spec in schema.get("properties", {}).items():
        kind = (
            spec.get("type")
            or " | ".join(str(s.get("type", s.get("$ref", "?"))) for s in spec.get("anyOf", []))
            or "any"
        )
        mark = "*" if field in required else " "
        text = spec.get("description", "")
        lines.append(f"   {mark}{field}: {kind}" + (f"  {text}" if text else ""))
    return lines or ["    (no fields)"]
