"""The Messages-API request `llm_invoke` sends, and an offline upper bound of its input tokens.

Both the skill and the cost estimator build the request here, so the bound is computed on
exactly the bytes that will be sent (the JSON instruction added for an output schema included).

Why the bound holds: Claude's tokenizer is a byte-level BPE, so every token stands for at least
one byte of UTF-8 text and a text of n bytes is at most n tokens. What the text does not show is
the API's framing (role markers, turn separators, the system preamble); that is bounded by a
fixed allowance per request, per message and per content block, well above what the API
charges for an empty turn (under ten tokens). Blocks whose tokens do not follow from their bytes
(images, documents, anything but text) cannot be bounded offline: the bound is then the model's
context window, which the API never exceeds. A bound is also capped at that window.
"""

from __future__ import annotations

import json
from typing import Any

from aos_skill_llm.models import LlmInvokeInput

__all__ = [
    "BLOCK_OVERHEAD",
    "MESSAGE_OVERHEAD",
    "REQUEST_OVERHEAD",
    "build_request",
    "input_token_bound",
    "text_bytes",
    "uses_cache",
]

REQUEST_OVERHEAD = 64
MESSAGE_OVERHEAD = 16
BLOCK_OVERHEAD = 8

JSON_INSTRUCTION = (
    "Answer with a single JSON value and nothing else: no prose, no code fences. "
    "The value must validate against this JSON Schema:\n{schema}"
)


def build_request(params: LlmInvokeInput) -> dict[str, Any]:
    """Keyword arguments for `messages.create` (without timeout)."""
    if params.messages is not None:
        messages: list[dict[str, Any]] = [m.model_dump(mode="json") for m in params.messages]
    else:
        messages = [{"role": "user", "content": params.prompt}]
    system = params.system
    if params.output_schema is not None:
        schema = json.dumps(params.output_schema, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        instruction = JSON_INSTRUCTION.format(schema=schema)
        system = f"{system}\n\n{instruction}" if system else instruction
    request: dict[str, Any] = {"model": params.model, "max_tokens": params.max_tokens, "messages": messages}
    if system:
        request["system"] = system
    if params.temperature is not None:
        request["temperature"] = params.temperature
    if params.stop_sequences:
        request["stop_sequences"] = list(params.stop_sequences)
    return request


def _utf8(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def _content_bound(content: Any) -> int | None:
    """Bytes plus framing of one message's content; None when a block cannot be bounded."""
    if isinstance(content, str):
        return _utf8(content)
    total = 0
    for block in content:
        if not isinstance(block, dict) or block.get("type") != "text" or not isinstance(block.get("text"), str):
            return None
        total += BLOCK_OVERHEAD + _utf8(block["text"])
    return total


def input_token_bound(request: dict[str, Any], context_window: int | None = None) -> int | None:
    """At most how many input tokens `request` can be billed; None if unknown and no window."""
    total = REQUEST_OVERHEAD + _utf8(request.get("system") or "")
    for message in request["messages"]:
        content = _content_bound(message["content"])
        if content is None:
            return context_window
        total += MESSAGE_OVERHEAD + content
    return total if context_window is None else min(total, context_window)


def text_bytes(request: dict[str, Any]) -> int:
    """UTF-8 bytes of the system prompt and every text in the messages (for expected-case guesses)."""
    total = _utf8(request.get("system") or "")
    for message in request["messages"]:
        content = message["content"]
        if isinstance(content, str):
            total += _utf8(content)
        else:
            total += sum(_utf8(b["text"]) for b in content if isinstance(b, dict) and isinstance(b.get("text"), str))
    return total


def uses_cache(request: dict[str, Any]) -> bool:
    """Whether any block asks for prompt caching (cache writes cost more than plain input)."""
    return any(
        isinstance(block, dict) and "cache_control" in block
        for message in request["messages"]
        if isinstance(message["content"], list)
        for block in message["content"]
    )
