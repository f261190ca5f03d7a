"""Every `gen_ai.*` name AOS writes on a span, in this one module, behind a version.

The OpenTelemetry GenAI semantic conventions are still experimental and keep moving (they now
live in their own repository, with breaking changes: `gen_ai.system` became
`gen_ai.provider.name`; `gen_ai.usage.input_tokens` now includes the tokens read from or written
to a provider's cache, which get their own attributes; message content moved from
`gen_ai.prompt`/`gen_ai.completion` to `gen_ai.input.messages`/`gen_ai.output.messages`).

AOS follows the convention OpenTelemetry's own instrumentations use for such moves,
`OTEL_SEMCONV_STABILITY_OPT_IN`: by default the names of `DEFAULT_VERSION`; with
`gen_ai_latest_experimental` in that comma-separated variable, those of `LATEST_VERSION`.

A skill describes its call as neutral facts (`Skill.gen_ai(params, output)`, see
`aos_core.contracts.protocols.Skill`): `operation`, `provider`, `request_model`,
`response_model`, `input_tokens` (as the provider reports them, without cache),
`cache_read_input_tokens`, `cache_creation_input_tokens`, `output_tokens`, `finish_reasons`,
`max_tokens`, `temperature`, and, recorded only when content capture is on, `input_messages`
and `output_messages`. `attributes` turns them into the attributes of the chosen version.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

__all__ = [
    "DEFAULT_VERSION",
    "LATEST_VERSION",
    "OPT_IN",
    "attributes",
    "operation_name",
    "semconv_version",
    "span_name",
    "tool_attributes",
]

DEFAULT_VERSION = "1.36.0"  # the last release with gen_ai.system and cache-exclusive input tokens
LATEST_VERSION = "1.38.0"  # gen_ai.provider.name, cache token attributes, structured messages
OPT_IN = "gen_ai_latest_experimental"

OPERATION = "gen_ai.operation.name"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
MAX_TOKENS = "gen_ai.request.max_tokens"
TEMPERATURE = "gen_ai.request.temperature"
FINISH_REASONS = "gen_ai.response.finish_reasons"
INPUT_TOKENS = "gen_ai.usage.input_tokens"
OUTPUT_TOKENS = "gen_ai.usage.output_tokens"

_NAMES: dict[str, dict[str, str]] = {
    DEFAULT_VERSION: {
        "provider": "gen_ai.system",
        "input_messages": "gen_ai.prompt",
        "output_messages": "gen_ai.completion",
    },
    LATEST_VERSION: {
        "provider": "gen_ai.provider.name",
        "cache_read_input_tokens": "gen_ai.usage.cache_read.input_tokens",
        "cache_creation_input_tokens": "gen_ai.usage.cache_creation.input_tokens",
        "input_messages": "gen_ai.input.messages",
        "output_messages": "gen_ai.output.messages",
    },
}


def semconv_version(environ: Mapping[str, str] | None = None) -> str:
    """The convention version in force: `LATEST_VERSION` when `OTEL_SEMCONV_STABILITY_OPT_IN`
    names `gen_ai_latest_experimental`, else `DEFAULT_VERSION`."""
    value = (os.environ if environ is None else environ).get("OTEL_SEMCONV_STABILITY_OPT_IN", "")
    return LATEST_VERSION if OPT_IN in {part.strip() for part in value.split(",")} else DEFAULT_VERSION


def operation_name(facts: Mapping[str, Any]) -> str:
    return str(facts.get("operation") or "chat")


def span_name(facts: Mapping[str, Any]) -> str:
    """`{operation} {model}`, the name the conventions give a model call's span."""
    model = facts.get("request_model")
    return f"{operation_name(facts)} {model}" if model else operation_name(facts)


def tool_attributes(skill: str) -> dict[str, Any]:
    """A skill call is a tool execution (`execute_tool {skill}`)."""
    return {OPERATION: "execute_tool", TOOL_NAME: skill}


def attributes(facts: Mapping[str, Any], version: str, capture_content: bool) -> dict[str, Any]:
    """The span attributes of a model call described by `facts`, in convention `version`.
    Message content only with `capture_content`."""
    names = _NAMES[version]
    out: dict[str, Any] = {OPERATION: operation_name(facts)}
    if facts.get("provider"):
        out[names["provider"]] = str(facts["provider"])
    for key, name in (
        ("request_model", REQUEST_MODEL),
        ("response_model", RESPONSE_MODEL),
        ("max_tokens", MAX_TOKENS),
        ("temperature", TEMPERATURE),
        ("output_tokens", OUTPUT_TOKENS),
    ):
        if facts.get(key) is not None:
            out[name] = facts[key]
    if facts.get("finish_reasons"):
        out[FINISH_REASONS] = [str(r) for r in facts["finish_reasons"]]
    if facts.get("input_tokens") is not None:
        cached = int(facts.get("cache_read_input_tokens") or 0) + int(facts.get("cache_creation_input_tokens") or 0)
        if version == LATEST_VERSION:
            out[INPUT_TOKENS] = int(facts["input_tokens"]) + cached  # now includes what the cache served
            for key in ("cache_read_input_tokens", "cache_creation_input_tokens"):
                out[names[key]] = int(facts.get(key) or 0)
        else:
            out[INPUT_TOKENS] = int(facts["input_tokens"])
    if capture_content:
        for key in ("input_messages", "output_messages"):
            if facts.get(key) is not None:
                out[names[key]] = json.dumps(facts[key], ensure_ascii=False, default=str)
    return out
