"""Input and output of `json_transform`.

Both sides are `JsonValue` with non-finite floats refused, so the data in and the result out
are always plain JSON: nothing the expression returns can fail to serialise.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, JsonValue

__all__ = ["JsonTransformInput", "JsonTransformOutput"]


class JsonTransformInput(BaseModel):
    """A JMESPath expression and the JSON data to apply it to."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    expression: str = Field(min_length=1, max_length=10_000, description="A JMESPath expression.")
    data: JsonValue = Field(description="Any JSON value.")


class JsonTransformOutput(BaseModel):
    """The expression's result (JSON; null when nothing matched)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    result: JsonValue = None
