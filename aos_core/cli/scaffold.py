"""`aos plugin new`: turn a distribution name into a ready plugin distribution on disk.

The files come from the templates in `aos_core/cli/templates/` (package data); `{{key}}`
placeholders are filled from a `Blueprint`. Nothing here runs pip or imports the result.
"""

from __future__ import annotations

import keyword
import re
import sys
from dataclasses import asdict, dataclass
from importlib.resources import files
from pathlib import Path

from aos_core import __version__
from aos_core.contracts.skill import SKILL_NAME_PATTERN

__all__ = ["KINDS", "Blueprint", "BadName", "blueprint", "render", "write"]

KINDS = ("skill", "planner", "classifier", "estimator")
_DIST = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_PREFIXES = ("aos-skill-", "aos-planner-", "aos-classifier-", "aos-estimator-", "aos-plugin-", "aos-")
_RESERVED = {"aos", "aos_core", "aos_skill_http", "aos_skill_json", "aos_skill_llm", "aos_plugin_files"}
_SUMMARY = {
    "skill": "an example skill that greets someone",
    "planner": "an example planner that plans one call from 'SKILL {json params}'",
    "classifier": "an example classifier that turns bad JSON into INVALID_INPUT",
    "estimator": "an example estimator that prices token-using skills",
}


class BadName(ValueError):
    """The distribution name cannot make a plugin; the message says why and what would."""


@dataclass(frozen=True)
class Blueprint:
    """Everything the templates need: names derived from the distribution name."""

    dist: str  # aos-skill-weather
    package: str  # aos_skill_weather
    name: str  # weather: the skill's (planner's...) name
    entry: str  # weather: the entry point's name
    kind: str
    klass: str  # Weather
    core_requirement: str

    @property
    def entry_point(self) -> str:
        return f"{self.entry} = {self.package}.plugin"


def blueprint(raw: str, kind: str = "skill") -> Blueprint:
    """Derive every name from a distribution name such as `aos-skill-weather`; `BadName` if unusable."""
    if kind not in KINDS:
        raise BadName(f"unknown kind {kind!r}; use one of {', '.join(KINDS)}")
    dist = re.sub(r"[-_.]+", "-", raw.strip().lower())
    if not _DIST.match(dist):
        raise BadName(
            f"{raw!r} is not a usable distribution name: use lowercase letters, digits and '-', "
            "starting with a letter, e.g. aos-skill-weather"
        )
    package = dist.replace("-", "_")
    if package in _RESERVED or package in sys.stdlib_module_names or keyword.iskeyword(package):
        raise BadName(f"{raw!r} would make the package {package!r}, which is taken; choose another name")
    short = next((dist[len(p) :] for p in _PREFIXES if dist.startswith(p)), dist)
    name = short.replace("-", "_")
    if not short or short in {*KINDS, "plugin"} or not re.match(SKILL_NAME_PATTERN, name):
        raise BadName(f"{raw!r} leaves no usable {kind} name after its prefix; add one, e.g. aos-{kind}-weather")
    klass = "".join(part.capitalize() for part in name.split("_")) + ("" if kind == "skill" else kind.capitalize())
    major, minor = __version__.split(".")[:2]
    requirement = f"aos-core>={major}.{minor},<{major}.{int(minor) + 1}"
    return Blueprint(dist, package, name, short, kind, klass, requirement)


def render(plan: Blueprint) -> dict[str, str]:
    """Relative path -> text of every file of the new distribution."""
    root = files("aos_core.cli").joinpath("templates")
    values = {**asdict(plan), "class": plan.klass, "summary": _SUMMARY[plan.kind]}
    values["listing"] = "skills" if plan.kind == "skill" else "plugins"
    sources = {
        "pyproject.toml": root.joinpath("pyproject.toml.tmpl"),
        "README.md": root.joinpath("README.md.tmpl"),
        f"{plan.package}/__init__.py": root.joinpath("__init__.py.tmpl"),
        f"{plan.package}/plugin.py": root.joinpath(plan.kind, "plugin.py.tmpl"),
        f"tests/test_{plan.name}.py": root.joinpath(plan.kind, "test_plugin.py.tmpl"),
    }
    out = {path: _fill(source.read_text("utf-8"), values) for path, source in sources.items()}
    out[f"{plan.package}/py.typed"] = ""
    return out


def write(plan: Blueprint, parent: Path) -> tuple[Path, list[str]]:
    """Write the distribution under `parent/DIST`; `FileExistsError` if that path exists."""
    target = parent / plan.dist
    if target.exists():
        raise FileExistsError(f"{target} already exists; remove it or choose another --dir")
    contents = render(plan)
    for relative, text in contents.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return target, sorted(contents)


def _fill(template: str, values: dict[str, str]) -> str:
    def value(match: re.Match[str]) -> str:
        return str(values[match.group(1)])

    return re.sub(r"\{\{(\w+)\}\}", value, template)
