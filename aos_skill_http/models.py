"""Input and output of `http_call`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = ["HttpCallInput", "HttpCallOutput", "DEFAULT_MAX_RESPONSE_BYTES"]

DEFAULT_MAX_RESPONSE_BYTES = 5_000_000
Scalar = str | int | float | bool


class HttpCallInput(BaseModel):
    """One HTTP request. Give at most one of `json` and `content`."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    url: str = Field(min_length=1, max_length=8192, description="Absolute http:// or https:// URL.")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers.")
    params: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict, description="Query parameters.")
    json_body: Any = Field(default=None, alias="json", description="A JSON request body.")
    content: str | None = Field(default=None, description="A raw (text) request body.")
    timeout_ms: int | None = Field(default=None, gt=0, le=600_000, description="Per-request timeout.")
    follow_redirects: bool = True
    max_redirects: int = Field(default=10, ge=0, le=50)
    max_response_bytes: int = Field(
        default=DEFAULT_MAX_RESPONSE_BYTES, gt=0, le=100_000_000, description="Larger (decoded) bodies fail."
    )

    @model_validator(mode="after")
    def _one_body(self) -> HttpCallInput:
        if self.json_body is not None and self.content is not None:
            raise ValueError("give either json or content, not both")
        return self


class HttpCallOutput(BaseModel):
    """The response. `body` is decoded JSON when the response says JSON, else text."""

    model_config = ConfigDict(extra="forbid")

    status: int
    headers: dict[str, str] = Field(description="Response headers; credential headers are redacted.")
    body: Any = None
    final_url: str
    elapsed_ms: float
    redirects: list[str] = Field(default_factory=list, description="URLs followed, in order.")
