"""Input and output of `json_transform`."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["JsonTransformInput", "JsonTransformOutput"]


class JsonTransformInput(BaseModel):
    """A JMESPath expression and the JSON data to apply it to."""

    model_config = ConfigDict(extra="forbid")

    expression: str = Field(min_length=1, max_length=10_000, description="A JMESPath expression.")
    data: Any = Field(description="Any JSON value.")


class JsonTransformOutput(BaseModel):
    """The expression's result (JSON; null when nothing matched)."""

    model_config = ConfigDict(extra="forbid")

    result: Any = None
