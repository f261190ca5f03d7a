"""Input and output of `llm_invoke`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, model_validator
from pydantic.json_schema import SkipJsonSchema

__all__ = ["DEFAULT_MODEL", "LlmInvokeInput", "LlmInvokeOutput", "Message", "Usage"]

# claude-sonnet-4-5 is deprecated by the anthropic SDK (end of life 2026-11-30).
DEFAULT_MODEL = "claude-sonnet-5-5"


class Message(BaseModel):
    """One conversation turn; `content` is text or a list of Messages-API content blocks."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class LlmInvokeInput(BaseModel):
    """A Messages API request. Give exactly one of `prompt` and `messages`."""

    # The schema says what the validator below checks, so a planner reading it never builds a
    # request the model refuses (null is accepted for either, but not published).
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {"required": ["prompt"], "not": {"required": ["messages"]}},
                {"required": ["messages"], "not": {"required": ["prompt"]}},
            ]
        },
    )

    model: str = Field(default=DEFAULT_MODEL, min_length=1, description="Anthropic model id.")
    prompt: str | SkipJsonSchema[None] = Field(default=None, description="A single user message.")
    messages: Annotated[list[Message], Field(min_length=1)] | SkipJsonSchema[None] = Field(
        default=None, description="The whole conversation."
    )
    system: str | None = None
    max_tokens: int = Field(default=1024, ge=1, le=128_000, description="Output cap; the budget reserves it.")
    temperature: float | None = Field(default=None, ge=0.0, le=1.0)
    stop_sequences: list[str] = Field(default_factory=list, max_length=8)
    output_schema: dict[str, Any] | None = Field(
        default=None, description="JSON Schema the answer must satisfy; the parsed answer is in output.json."
    )

    @model_validator(mode="after")
    def _prompt_or_messages(self) -> LlmInvokeInput:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("give exactly one of prompt and messages")
        return self


class Usage(BaseModel):
    """Tokens the call consumed, as the API reported them."""

    model_config = ConfigDict(extra="forbid")

    input_tokens: int = Field(ge=0)
    output_tokens: int = Field(ge=0)
    cache_creation_input_tokens: int = Field(default=0, ge=0)
    cache_read_input_tokens: int = Field(default=0, ge=0)


class LlmInvokeOutput(BaseModel):
    """The model's answer; `json` holds the parsed answer when an output schema was given."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True, allow_inf_nan=False)

    text: str
    json_value: JsonValue = Field(
        default=None, alias="json", description="The parsed answer, when output_schema was given."
    )
    stop_reason: str | None = None
    usage: Usage
    model: str
