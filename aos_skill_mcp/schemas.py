"""Pydantic models built from an MCP tool's JSON Schemas, so that the core sees a skill like any other.

A tool's input and output schemas are given by its server as JSON Schema, not as Python types.
`schema_model` makes a pydantic model whose `model_json_schema()` is exactly that schema (the
core publishes it as the skill's `input_schema` or `output_schema`) and whose validation checks a
value against it with jsonschema, each failure at its own path (`repo_path`, `files.0`), so the
pipeline refuses bad parameters before anything is sent and a plan's checks can tell which
parameter is wrong. jsonschema is imported on the first validation, not when plugins load.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

__all__ = ["ToolResult", "check_schema", "schema_model"]

_MAX_ERRORS = 10


class ToolResult(BaseModel):
    """The output of a tool that declares no output schema: its content, and its text joined."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    text: str = Field(description="The text of every text content block, joined by newlines.")
    content: list[dict[str, Any]] = Field(default_factory=list, description="The content blocks, as MCP sends them.")
    structured: Any = Field(default=None, description="The tool's structured content, when it gave one.")


def _validator(schema: dict[str, Any]) -> Any:
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    return cls(schema)


def check_schema(schema: Any) -> str | None:
    """Why `schema` cannot validate anything (one line), or None when it is a usable JSON Schema."""
    import jsonschema

    if not isinstance(schema, dict):
        return f"the schema is a {type(schema).__name__}, not a JSON object"
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"not a valid JSON Schema: {exc.message}"[:300]
    return _hostile(schema)


def _hostile(schema: dict[str, Any]) -> str | None:
    """Why AOS will not apply a valid schema itself: a `$ref` it cannot follow (outside the schema,
    or to nothing in it), which would crash every call, or a regular expression whose matching can
    take exponential time (nested repetition such as `^(a+)+$`), which would hang the caller: AOS
    checks parameters before the call's timeout starts. None when neither."""
    stack: list[tuple[Any, str]] = [(schema, "")]
    while stack:
        node, where = stack.pop()
        if isinstance(node, list):
            stack.extend((item, f"{where}/{i}") for i, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        ref = node.get("$ref")
        if isinstance(ref, str) and _resolve_local(schema, ref) is None:
            outside = "is not a reference inside the schema; AOS follows only those"
            return f"its $ref {ref[:100]!r} at {where or '/'} {outside}"
        patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        if isinstance(node.get("patternProperties"), dict):
            patterns.extend(node["patternProperties"])
        for pattern in patterns:
            if _backtracks(pattern):
                slow = "nests repetition, which can take exponential time"
                return f"its pattern {pattern[:100]!r} at {where or '/'} {slow}"
        stack.extend((value, f"{where}/{key}") for key, value in node.items() if key not in ("const", "enum"))
    return None


def _resolve_local(schema: dict[str, Any], ref: str) -> Any:
    """What a local `$ref` (`#`, `#/$defs/x`) points to in `schema`, or None."""
    if not ref.startswith("#") or ("$id" in schema and ref != "#" and not ref.startswith("#/")):
        return None
    node: Any = schema
    for raw in [p for p in ref[1:].split("/") if p]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node


def _backtracks(pattern: str) -> bool:
    """True when `pattern` repeats without bound a part that starts by repeating without bound,
    as in `(a+)+`, `(a*)*` or `(\\w+\\s?)*`, where a failed match tries exponentially many splits.
    (`^[a-z]+(-[a-z]+)*$` and `(?:[a-z]+/)*` are fine: a fixed character splits the repetitions.) A
    heuristic: it catches the usual cases, not every slow pattern."""
    import re

    try:
        from re import _parser as parser  # type: ignore[attr-defined]
    except ImportError:  # pragma: no cover - Python < 3.11
        import sre_parse as parser
    try:
        tree = parser.parse(pattern)
    except (re.error, RecursionError, OverflowError):
        return False  # not a Python pattern: jsonschema cannot match with it either
    return _nested(list(tree))


def _unbounded(op: Any, value: Any) -> bool:
    import re

    return str(op) in ("MAX_REPEAT", "MIN_REPEAT") and (value[1] == re._constants.MAXREPEAT or value[1] > 100)  # type: ignore[attr-defined]


def _starts_repeating(items: list[Any]) -> bool:
    """True when the sequence `items` begins with an unbounded repeat (through groups and branches)."""
    if not items:
        return False
    op, value = items[0]
    if _unbounded(op, value):
        return True
    if str(op) == "SUBPATTERN":
        return _starts_repeating(list(value[-1]))
    if str(op) == "BRANCH":
        return any(_starts_repeating(list(branch)) for branch in value[1])
    return False


def _has_fixed_char(items: list[Any]) -> bool:
    """True when the sequence `items` must match a literal character (`/` in `(?:[a-z]+/)*`), which
    ends each repetition at one place."""
    for op, value in items:
        if str(op) == "LITERAL":
            return True
        if str(op) == "SUBPATTERN" and _has_fixed_char(list(value[-1])):
            return True
    return False


def _nested(items: list[Any]) -> bool:
    for op, value in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            body = list(value[2])
            if _unbounded(op, value) and _starts_repeating(body) and not _has_fixed_char(body):
                return True
            if _nested(body):
                return True
        elif name == "SUBPATTERN":
            if _nested(list(value[-1])):
                return True
        elif name == "BRANCH":
            if any(_nested(list(branch)) for branch in value[1]):
                return True
        elif name in ("ASSERT", "ASSERT_NOT") and _nested(list(value[1])):
            return True
    return False


def schema_model(title: str, schema: dict[str, Any], *, root: Any = dict[str, Any]) -> type[RootModel[Any]]:
    """A model of `root` values that fit `schema`; its JSON Schema is `schema` itself."""
    frozen = json.loads(json.dumps(schema))  # a private copy: nobody can change it under us
    checker: list[Any] = []

    class SchemaModel(RootModel[root]):
        @classmethod
        def model_json_schema(cls, *args: Any, **kwargs: Any) -> dict[str, Any]:
            return copy.deepcopy(frozen)

        @model_validator(mode="after")
        def _fits_schema(self) -> SchemaModel:
            if not checker:
                checker.append(_validator(frozen))
            errors = sorted(checker[0].iter_errors(self.root), key=lambda e: list(e.absolute_path))
            if errors:
                details = [
                    InitErrorDetails(
                        type=PydanticCustomError("json_schema", "{reason}", {"reason": _reason(error)}),
                        loc=tuple(error.absolute_path),
                        input=None,
                    )
                    for error in errors[:_MAX_ERRORS]
                ]
                raise ValidationError.from_exception_data(title, details)
            return self

    SchemaModel.__name__ = SchemaModel.__qualname__ = title
    return SchemaModel


def _reason(error: Any) -> str:
    """jsonschema's message without the offending value (it may be long, or a secret)."""
    validator = error.validator
    expected = error.validator_value
    if validator == "required":
        return str(error.message).split(" is a required")[0] + " is required"
    if validator == "additionalProperties":
        return "unexpected properties: " + str(error.message).split("(")[-1].rstrip(")")
    if validator in ("type", "enum", "const", "format", "pattern"):
        return f"does not match {validator} {json.dumps(expected)[:100]}"
    return f"fails {validator} {json.dumps(expected, default=str)[:100]}"
