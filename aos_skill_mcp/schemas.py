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
    return None


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
