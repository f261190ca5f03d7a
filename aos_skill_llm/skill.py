"""The `llm_invoke` skill: one Messages-API call through the official anthropic SDK.

Configuration (`skills.llm_invoke` in the runtime configuration): `base_url` and `api_key`,
else the SDK's environment variables `ANTHROPIC_BASE_URL` and `ANTHROPIC_API_KEY`; `prices`
is read by the cost estimator. The SDK never retries (`max_retries=0`): AOS does, with seeded
jitter and the server's Retry-After. With an `output_schema`, the schema is put in the system
prompt and the answer is parsed and checked with jsonschema here (not a forced tool call, so
the request stays a plain message and its tokens stay bounded by its bytes).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from typing import Any

from aos_core import (
    CostModel,
    ErrorCode,
    PlanProblem,
    PreflightContext,
    SideEffect,
    SkillContext,
    SkillError,
    SkillMetadata,
)
from aos_skill_llm.errors import translate_errors
from aos_skill_llm.models import LlmInvokeInput, LlmInvokeOutput
from aos_skill_llm.request import build_request

__all__ = ["FAILURE_CODES", "KEY_NAME", "LlmInvoke"]

KEY_NAME = "ANTHROPIC_API_KEY"
FAILURE_CODES = (
    ErrorCode.INVALID_INPUT,
    ErrorCode.PERMISSION_DENIED,
    ErrorCode.RATE_LIMITED,
    ErrorCode.HTTP_4XX,
    ErrorCode.HTTP_5XX,
    ErrorCode.CONNECTION_FAILED,
    ErrorCode.TIMEOUT,
    ErrorCode.OUTPUT_VALIDATION_FAILED,
)
_BODY_ONLY = ("temperature",)
_SECRET_REF = re.compile(r"^\$\{secrets\.([A-Za-z_][A-Za-z0-9_]*)\}$")
_FENCE = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(.*?)\n?```$", re.S)


class LlmInvoke:
    """Call Claude through the anthropic SDK; priced per token from genai-prices."""

    metadata = SkillMetadata(
        name="llm_invoke",
        version="0.1.0",
        description="Ask a Claude model (Anthropic Messages API); optional JSON output schema.",
        side_effects=SideEffect.NONE,
        network=True,
        idempotent=True,
        deterministic=False,
        timeout_ms=120_000,
        cost=CostModel(uses_tokens=True),
        failure_codes=FAILURE_CODES,
        permissions=("net", f"secret:{KEY_NAME}"),
        expected_latency_ms=4_000.0,
    )
    Input = LlmInvokeInput
    Output = LlmInvokeOutput

    def warm_up(self) -> None:
        """Import the SDK before the first call is timed (about 1.7 s on a cold start)."""
        import anthropic  # noqa: F401

    def preflight(self, params: dict[str, Any], ctx: PreflightContext) -> list[PlanProblem]:
        """No API key is a problem found before a run (what `execute` would refuse the call for)."""
        configured = ctx.config.get("api_key")
        if isinstance(configured, str) and configured:
            ref = _SECRET_REF.match(configured)
            if ref is None or ctx.has_secret(ref.group(1)):
                return []
            name = ref.group(1)
            message = f"skills.llm_invoke.api_key names secret {name}, which is not set; export {name}=..."
        elif ctx.has_secret(KEY_NAME):
            return []
        else:
            message = (
                f"no Anthropic API key: export {KEY_NAME}=... or set skills.llm_invoke.api_key in the runtime "
                "configuration"
            )
        return [PlanProblem(code=ErrorCode.PERMISSION_DENIED, message=message)]

    def gen_ai(self, params: LlmInvokeInput, output: dict[str, Any] | None) -> dict[str, Any]:
        """This call as a generative-AI operation, for its span (the core names the attributes).
        The messages are recorded only when content capture is on."""
        request = build_request(params)
        messages = list(request["messages"])
        if request.get("system"):
            messages.insert(0, {"role": "system", "content": request["system"]})
        facts: dict[str, Any] = {
            "operation": "chat",
            "provider": "anthropic",
            "request_model": params.model,
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "input_messages": messages,
        }
        if output is not None:
            usage = output.get("usage") or {}
            facts.update(
                response_model=output.get("model"),
                input_tokens=usage.get("input_tokens"),
                output_tokens=usage.get("output_tokens"),
                cache_read_input_tokens=usage.get("cache_read_input_tokens"),
                cache_creation_input_tokens=usage.get("cache_creation_input_tokens"),
                finish_reasons=[output["stop_reason"]] if output.get("stop_reason") else [],
                output_messages=[{"role": "assistant", "content": output.get("text", "")}],
            )
        return facts

    async def execute(self, params: LlmInvokeInput, ctx: SkillContext) -> dict[str, Any]:
        request = build_request(params)
        # anthropic 1.0 dropped `temperature` from create()'s signature; the API still takes it
        # (older models), so it goes in the body as is. Newer models refuse it: INVALID_INPUT.
        extra_body = {name: request.pop(name) for name in _BODY_ONLY if name in request}
        validator = _schema_validator(params.output_schema) if params.output_schema is not None else None
        key = _api_key(ctx)
        base_url = ctx.config.get("base_url") or os.environ.get("ANTHROPIC_BASE_URL") or None
        fingerprint = hashlib.sha256(key.encode()).hexdigest()[:12]  # tells keys apart, reveals nothing
        client = ctx.resource(
            f"aos_skill_llm.client:{base_url or 'default'}#{fingerprint}", lambda: _PooledClient(key, base_url)
        ).client
        deadline_s = (ctx.deadline_ms or self.metadata.timeout_ms) / 1000.0
        timeout_s = deadline_s - min(0.05, deadline_s / 10)  # a little under, so the SDK's timeout can report it
        with translate_errors(ctx.clock.now, timeout_s):
            message = await client.messages.create(**request, extra_body=extra_body or None, timeout=timeout_s)
        text = "".join(block.text for block in message.content if block.type == "text")
        raw = message.usage
        usage = {
            "input_tokens": raw.input_tokens,
            "output_tokens": raw.output_tokens,
            "cache_creation_input_tokens": raw.cache_creation_input_tokens or 0,
            "cache_read_input_tokens": raw.cache_read_input_tokens or 0,
        }
        output: dict[str, Any] = {
            "text": text,
            "stop_reason": message.stop_reason,
            "usage": usage,
            "model": message.model,
        }
        if validator is not None:
            output["json"] = _parse_answer(text, validator, message.stop_reason, usage)
        return output


class _PooledClient:
    """The runtime's `AsyncAnthropic`, closed (asynchronously) with the runtime."""

    def __init__(self, key: str, base_url: str | None) -> None:
        import anthropic

        self.client = anthropic.AsyncAnthropic(api_key=key, base_url=base_url, max_retries=0)

    async def aclose(self) -> None:
        await self.client.close()


def _api_key(ctx: SkillContext) -> str:
    """The key from configuration (remembered as a secret) or the environment; else PERMISSION_DENIED."""
    configured = ctx.config.get("api_key")
    if isinstance(configured, str) and configured:
        ref = _SECRET_REF.match(configured)
        if ref is not None:
            found = ctx.secrets.find(ref.group(1))
            if found:
                return found
            raise SkillError(
                ErrorCode.PERMISSION_DENIED,
                f"skills.llm_invoke.api_key names secret {ref.group(1)}, which is not set; export {ref.group(1)}=...",
                details={"secret": ref.group(1)},
            )
        ctx.secrets.remember(configured, KEY_NAME)
        return configured
    found = ctx.secrets.find(KEY_NAME)
    if found:
        return found
    raise SkillError(
        ErrorCode.PERMISSION_DENIED,
        f"no Anthropic API key: export {KEY_NAME}=... or set skills.llm_invoke.api_key in the runtime configuration",
        details={"secret": KEY_NAME},
    )


def _schema_validator(schema: dict[str, Any]) -> Any:
    """A jsonschema validator for `schema`; INVALID_INPUT if the schema itself is invalid."""
    import jsonschema

    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        cls.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        raise SkillError(
            ErrorCode.INVALID_INPUT,
            f"output_schema is not a valid JSON Schema at {where}: {exc.message}",
            details={"path": where},
        ) from None
    return cls(schema)


def _parse_answer(text: str, validator: Any, stop_reason: str | None, usage: dict[str, int]) -> Any:
    """The answer as JSON, checked against the schema; OUTPUT_VALIDATION_FAILED otherwise."""
    body = text.strip()
    fenced = _FENCE.match(body)
    if fenced is not None:
        body = fenced.group(1).strip()
    details: dict[str, Any] = {"stop_reason": stop_reason, "usage": usage}
    try:
        value = json.loads(body, parse_constant=_refuse_constant, parse_float=_finite_float)
    except ValueError as exc:
        cut = " (the answer was cut at max_tokens)" if stop_reason == "max_tokens" else ""
        raise SkillError(
            ErrorCode.OUTPUT_VALIDATION_FAILED,
            f"the model's answer is not valid JSON{cut}: {exc}",
            details={**details, "answer_start": body[:200]},
        ) from None
    errors = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        problems = [
            {"path": "/".join(str(p) for p in e.absolute_path) or "(root)", "message": e.message} for e in errors[:10]
        ]
        first = problems[0]
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        raise SkillError(
            ErrorCode.OUTPUT_VALIDATION_FAILED,
            f"the model's answer does not match output_schema at {first['path']}: {first['message']}{more}",
            details={**details, "problems": problems},
        )
    return value


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range for a JSON number")
    return value
