"""Validation of what plugins register: skills, planners, classifiers, cost estimators, commands.

Each check returns the finished entry or raises `ContributionError` with one line saying what
is wrong and how to fix it. Nothing here calls a skill.
"""

from __future__ import annotations

import functools
import inspect
import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from aos_core.contracts.names import STEP_ID_PATTERN
from aos_core.contracts.skill import SkillMetadata
from aos_core.plugins.explain import fields_at, one_line, relative_path, validation_summary
from aos_core.plugins.schema_check import schema_problems

__all__ = [
    "CORE_COMMANDS",
    "CommandEntry",
    "ContributionError",
    "SkillEntry",
    "validate_classifier",
    "validate_commands",
    "validate_estimator",
    "validate_planner",
    "validate_skill",
]

_NAME = re.compile(STEP_ID_PATTERN)
_COMMAND_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")

# The commands of the core CLI (`aos_core/cli/app.py` COMMANDS; a test keeps the two equal): a
# plugin may not add a command of one of these names.
CORE_COMMANDS = frozenset(
    {
        "demo", "describe", "exec", "failures", "install", "memory", "plan", "plugin", "plugins", "query",
        "replay", "run", "runs", "schema", "show", "simulate", "skills", "uninstall",
    }
)  # fmt: skip


class ContributionError(ValueError):
    """A registered object breaks its contract; the message says what and how to fix it."""


class SkillEntry:
    """A validated skill, ready for the executor.

    `declared` is its metadata as registered (validated at load); `metadata` adds the JSON
    Schemas of `Input` and `Output`, generated on first use: building a `Runtime` with 1,000
    skills took 905 ms, 83% of it in `model_json_schema`, for schemas a call never reads. The
    CLI's discovery and the test kit generate them at load (`schemas=True`), so a model that
    cannot make a JSON Schema still fails its plugin there, with the reason; generated later, such
    a failure leaves the schemas out and says why in `schema_error`.
    """

    __slots__ = ("_metadata", "declared", "input_model", "is_async", "output_model", "plugin", "schema_error", "skill")

    def __init__(
        self,
        skill: Any,
        declared: SkillMetadata,
        input_model: type[BaseModel],
        output_model: type[BaseModel],
        is_async: bool,
        plugin: str,
    ) -> None:
        self.skill = skill
        self.declared = declared
        self.input_model = input_model
        self.output_model = output_model
        self.is_async = is_async
        self.plugin = plugin
        self.schema_error: str | None = None
        self._metadata: SkillMetadata | None = None

    @property
    def metadata(self) -> SkillMetadata:
        """The metadata with `input_schema` and `output_schema` (generated once, on first use)."""
        found = self._metadata
        if found is None:
            try:
                found = _with_schemas(self)
            except ContributionError as exc:
                self.schema_error = str(exc)
                found = self.declared
            self._metadata = found
        return found


@dataclass(frozen=True, slots=True)
class CommandEntry:
    """A validated command a plugin adds to `aos`, with the one-line help `aos --help` shows."""

    name: str
    command: Any  # a click.Command
    help: str
    plugin: str


def validate_skill(obj: Any, plugin: str, *, schemas: bool = False) -> SkillEntry:
    """Check a skill object; with `schemas`, also generate (and so check) its JSON Schemas now."""
    label = _label(obj)
    if isinstance(obj, type):
        raise ContributionError(f"{label} is a class; register an instance: register({obj.__name__}())")
    raw = getattr(obj, "metadata", None)
    if raw is None:
        raise ContributionError(f"{label} has no 'metadata'; give it a SkillMetadata(...)")
    try:
        # an instance is validated again: one built with `model_construct` (or holding a part that
        # was, like a negative CostModel) must not get past the door
        metadata = SkillMetadata.model_validate(raw.model_dump() if isinstance(raw, SkillMetadata) else raw)
    except ValidationError as exc:
        where = _source_file(type(obj))
        fix = f"; fix it in {where}" if where else ""
        summary = validation_summary(exc, functools.partial(fields_at, SkillMetadata))
        raise ContributionError(f"{label} has invalid metadata: {summary}{fix}") from None
    label = f"skill {metadata.name!r}"
    models = {}
    for attr in ("Input", "Output"):
        model = getattr(obj, attr, None)
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise ContributionError(f"{label} needs '{attr}', a pydantic BaseModel subclass; found {model!r}")
        models[attr] = model
    execute = getattr(obj, "execute", None)
    _check_callable(execute, f"{label}: execute", ("params", "ctx"))
    entry = SkillEntry(obj, metadata, models["Input"], models["Output"], inspect.iscoroutinefunction(execute), plugin)
    if schemas or metadata.input_schema is not None or metadata.output_schema is not None:
        entry._metadata = _with_schemas(entry)  # a declared schema is checked against its model at load
    return entry


def _with_schemas(entry: SkillEntry) -> SkillMetadata:
    """`entry.declared` with the schemas generated from its models; `ContributionError` when one
    cannot be generated, is not valid JSON Schema, or differs from a schema the plugin declared."""
    from aos_core.plugins.schema_generator import SkillSchemaGenerator

    metadata = entry.declared
    label = f"skill {metadata.name!r}"
    schemas = {}
    models = ((entry.input_model, "Input", "input_schema"), (entry.output_model, "Output", "output_schema"))
    for model, attr, field in models:
        try:
            schema = model.model_json_schema(schema_generator=SkillSchemaGenerator)
        except Exception as exc:  # noqa: BLE001 - any failure to build a schema is the plugin's error
            reason = one_line(str(exc).strip().split("\n\n")[0], 200)  # pydantic appends a URL paragraph
            raise ContributionError(
                f"{label}: cannot generate a JSON Schema from {attr} ({type(exc).__name__}: {reason}); "
                "use JSON-compatible field types"
            ) from None
        problems = schema_problems(schema)
        if problems:
            raise ContributionError(f"{label}: {field} is not valid JSON Schema: {problems[0]}")
        declared = getattr(metadata, field)
        if declared is not None and declared != schema:
            raise ContributionError(
                f"{label}: metadata.{field} differs from the schema generated from {attr}; "
                f"leave {field} out, the core generates it"
            )
        schemas[field] = schema
    return metadata.model_copy(update=schemas)


def validate_planner(obj: Any) -> str:
    """Check a planner object; returns its name."""
    name = _named(obj, "planner")
    if not isinstance(getattr(obj, "description", None), str):
        raise ContributionError(f"planner {name!r} needs 'description', a string")
    _check_callable(getattr(obj, "plan", None), f"planner {name!r}: plan", ("request", "ctx"))
    return name


def validate_classifier(obj: Any) -> str:
    """Check a failure classifier; returns its name."""
    name = _named(obj, "classifier")
    _check_callable(getattr(obj, "classify", None), f"classifier {name!r}: classify", ("exc", "skill"))
    return name


def validate_estimator(obj: Any) -> str:
    """Check a cost estimator; returns its name."""
    name = _named(obj, "estimator")
    _check_callable(getattr(obj, "covers", None), f"estimator {name!r}: covers", ("skill",))
    _check_callable(getattr(obj, "estimate", None), f"estimator {name!r}: estimate", ("skill", "params", "ctx"))
    _check_callable(getattr(obj, "actual", None), f"estimator {name!r}: actual", ("skill", "params", "output", "ctx"))
    return name


def validate_commands(group: Any, plugin: str) -> list[CommandEntry]:
    """Check what a plugin added to the click group its `aos_register_commands` hook was given."""
    import click

    entries = []
    for name, command in sorted(group.commands.items()):
        if not isinstance(command, click.Command):
            raise ContributionError(
                f"command {name!r} is a {type(command).__name__}, not a click.Command; add it with @cli.command()"
            )
        if not isinstance(name, str) or not _COMMAND_NAME.match(name):
            raise ContributionError(
                f"command name {name!r} is not usable; use lowercase letters, digits, '-' or '_' (at most 40)"
            )
        if name in CORE_COMMANDS:
            raise ContributionError(
                f"command {name!r} is a core aos command; a plugin may not replace it, choose another name"
            )
        entries.append(CommandEntry(name, command, command.get_short_help_str(limit=120), plugin))
    return entries


def _source_file(cls: type) -> str | None:
    try:
        path = inspect.getsourcefile(cls)
    except (TypeError, OSError):
        return None
    return relative_path(path) if path is not None else None


def _named(obj: Any, kind: str) -> str:
    name = getattr(obj, "name", None)
    if not isinstance(name, str) or not _NAME.match(name):
        raise ContributionError(
            f"{kind} {_label(obj)} needs 'name', a string of letters, digits, '_' or '-'; found {name!r}"
        )
    return name


def _check_callable(func: Callable[..., Any] | None, label: str, args: tuple[str, ...]) -> None:
    wanted = f"({', '.join(args)})"
    if func is None or not callable(func):
        raise ContributionError(f"{label} is missing or not callable; define a method {wanted}")
    if _positional_fit(func, len(args)):
        return
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return  # builtins without a signature: accept, they fail loudly when called
    try:
        signature.bind(*args)
    except TypeError:
        takes = ", ".join(signature.parameters)
        raise ContributionError(f"{label} takes ({takes}); it must accept {wanted}") from None


def _positional_fit(func: Callable[..., Any], count: int) -> bool | None:
    """True when a plain function (or a method of one) surely accepts `count` positional
    arguments, read from its code object; None when only `inspect.signature` can tell (it costs
    ~50 µs a skill: 71 of the 222 ms of a `Runtime` with 1,000 skills)."""
    function = getattr(func, "__func__", func)
    if type(function) is not types.FunctionType or hasattr(function, "__wrapped__"):
        return None
    code = function.__code__
    bound = 1 if function is not func else 0
    positional = code.co_argcount - bound
    required = positional - len(function.__defaults__ or ())
    keyword_only_required = code.co_kwonlyargcount - len(function.__kwdefaults__ or {})
    takes_more = bool(code.co_flags & inspect.CO_VARARGS)
    if keyword_only_required == 0 and required <= count and (count <= positional or takes_more):
        return True
    return None


def _label(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}" if not isinstance(obj, type) else obj.__qualname__
