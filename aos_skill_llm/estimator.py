"""The Anthropic cost estimator: worst case reserved before `llm_invoke`, real usage settled after.

- worst: an upper bound of the input tokens (see `aos_skill_llm.request`) at the dearest input
  price that can apply (a cache write when the request asks for caching), plus `max_tokens` of
  output. The budget reserves this, so one call can never overshoot it.
- expected: about four bytes per input token and a quarter of `max_tokens`; low: eight bytes
  per token and one output token. Both are guesses for planning, never reserved.
- actual: the usage the API reported, priced the same way; a failed call is one call, no
  tokens, no money (the API does not bill a refused request).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aos_core import Cost, CostEstimate, ErrorCode, EstimateContext, SkillError, SkillMetadata
from aos_skill_llm.models import LlmInvokeInput
from aos_skill_llm.pricing import Prices, Tokens, prices_for
from aos_skill_llm.request import build_request, input_token_bound, text_bytes, uses_cache

__all__ = ["AnthropicEstimator"]

_LATENCY_MS = 4_000.0
_SECRET_REF = re.compile(r"\$\{secrets\.[A-Za-z_][A-Za-z0-9_]*\}")  # resolved by the runtime after estimating


class AnthropicEstimator:
    """Prices `llm_invoke` calls per token from genai-prices (or the runtime's overrides)."""

    name = "anthropic"

    def covers(self, skill: SkillMetadata) -> bool:
        return skill.name == "llm_invoke"

    def estimate(self, skill: SkillMetadata, params: Mapping[str, Any], ctx: EstimateContext) -> CostEstimate:
        try:
            return self._estimate(skill, params, ctx)
        except (ValueError, LookupError) as exc:  # no price or no bound: refused as bad input, nothing sent
            raise SkillError(ErrorCode.INVALID_INPUT, str(exc), details={"model": params.get("model")}) from None

    def _estimate(self, skill: SkillMetadata, params: Mapping[str, Any], ctx: EstimateContext) -> CostEstimate:
        call = LlmInvokeInput.model_validate(params)
        request = build_request(call)
        prices = prices_for(call.model, ctx.at, ctx.config)
        bound: int | None
        if _SECRET_REF.search(json.dumps(request)):
            bound = prices.context_window  # a secret's value is unknown here: only the window bounds it
        else:
            bound = input_token_bound(request, prices.context_window)
        if bound is None:
            raise ValueError(
                f"cannot bound the input tokens of this {call.model} request offline (non-text content) and the "
                f"model's context window is unknown; set skills.llm_invoke.prices.{call.model}.context_window"
            )
        worst = _worst_money(prices, bound, call.max_tokens, uses_cache(request))
        size = text_bytes(request)
        expected_in = min(bound, math.ceil(size / 4) + 8)
        low_in = min(expected_in, math.ceil(size / 8) + 1)
        expected_out = max(1, call.max_tokens // 4)
        return CostEstimate(
            low=_cost(prices, Tokens(input=low_in, output=1)),
            expected=_cost(prices, Tokens(input=expected_in, output=expected_out)),
            worst=Cost(input_tokens=bound, output_tokens=call.max_tokens, calls=1, money=worst, currency="USD"),
            latency_ms=skill.expected_latency_ms or _LATENCY_MS,
        )

    def actual(
        self, skill: SkillMetadata, params: Mapping[str, Any], output: Mapping[str, Any] | None, ctx: EstimateContext
    ) -> Cost:
        if output is None:
            return Cost(calls=1, currency="USD")
        model = LlmInvokeInput.model_validate(params).model
        usage = output["usage"]
        tokens = Tokens(
            input=usage["input_tokens"],
            output=usage["output_tokens"],
            cache_write=usage.get("cache_creation_input_tokens") or 0,
            cache_read=usage.get("cache_read_input_tokens") or 0,
        )
        return _cost(prices_for(model, ctx.at, ctx.config), tokens)


def _cost(prices: Prices, tokens: Tokens) -> Cost:
    return Cost(
        input_tokens=tokens.total_input,
        output_tokens=tokens.output,
        calls=1,
        money=prices.money(tokens),
        currency="USD",
    )


def _worst_money(prices: Prices, input_bound: int, max_tokens: int, cached: bool) -> Decimal:
    """The dearest way `input_bound` input tokens and `max_tokens` output tokens can be billed."""
    scenarios = [Tokens(input=input_bound, output=max_tokens)]
    if cached:
        scenarios.append(Tokens(output=max_tokens, cache_write=input_bound))
        scenarios.append(Tokens(output=max_tokens, cache_write=input_bound, cache_write_1h=input_bound))
    return max(prices.money(t) for t in scenarios)
