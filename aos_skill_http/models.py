"""Input and output of `http_call`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

__all__ = ["HttpCallInput", "HttpCallOutput", "DEFAULT_MAX_RESPONSE_BYTES"]

DEFAULT_MAX_RESPONSE_BYTES = 5_000_000
Scalar = str | int | float | bool
# RFC 9110 field names are tokens; values are sent as ASCII, so no control characters (no CR/LF).
HeaderName = Annotated[str, StringConstraints(pattern=r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")]
HeaderValue = Annotated[str, StringConstraints(pattern=r"^[\t\x20-\x7e]*$")]


class HttpCallInput(BaseModel):
    """One HTTP request. Give at most one of `json` and `content`."""

    # `not` says in the schema what `_one_body` checks, so the published schema promises nothing the model refuses
    model_config = ConfigDict(
        extra="forbid", populate_by_name=True, json_schema_extra={"not": {"required": ["json", "content"]}}
    )

    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    url: str = Field(min_length=1, max_length=8192, description="Absolute http:// or https:// URL.")
    headers: dict[HeaderName, HeaderValue] = Field(
        default_factory=dict,
        description="Request headers: token names, printable ASCII values.",
        json_schema_extra={"additionalProperties": False},  # the names' pattern is the only one allowed
    )
    params: dict[str, Scalar | list[Scalar]] = Field(
        default_factory=dict,
        description="Query parameters, added to the URL's own query; a key in both takes these values.",
    )
    json_body: Any = Field(default=None, alias="json", description="A JSON request body.")
    content: str | None = Field(default=None, description="A raw (text) request body.")
    timeout_ms: int | None = Field(
        default=None,
        gt=0,
        le=600_000,
        description="Time limit for the whole call, redirects included; "
        "the call's own deadline applies when it is shorter.",
    )
    follow_redirects: bool = Field(default=True, description="Follow redirects; each hop is checked by the policy.")
    max_redirects: int = Field(default=10, ge=0, le=50, description="More redirects than this fail the call.")
    max_response_bytes: int = Field(
        default=DEFAULT_MAX_RESPONSE_BYTES, gt=0, le=100_000_000, description="Larger (decoded) bodies fail."
    )

    @model_validator(mode="after")
    def _one_body(self) -> HttpCallInput:
        if self.json_body is not None and self.content is not None:
            raise ValueError("give either json or content, not both")
        return self


class HttpCallOutput(BaseModel):
    """The response. `body` is decoded JSON when the response says JSON, text for text, base64 for binary."""

    model_config = ConfigDict(extra="forbid")

    status: int
    headers: dict[str, str] = Field(
        description="Response headers, lower-case names, repeats joined by ', '; credential headers are '[REDACTED]'."
    )
    body: Any = Field(default=None, description="The decoded body (see body_encoding); null when empty.")
    body_encoding: Literal["json", "text", "base64"] | None = Field(
        default=None,
        description="json: parsed JSON (JSON media types); text: decoded text (text types, or a charset, or "
        "UTF-8 without a Content-Type); base64: any other content; null: no body.",
    )
    final_url: str = Field(description="The URL of the final response; a password in it is redacted.")
    elapsed_ms: float = Field(description="From the first request to the last byte, on the run's clock.")
    redirects: list[str] = Field(default_factory=list, description="URLs followed, in order.")
