"""Cost of llm_invoke: worst case reserved before the call, real usage settled after, exact decimals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price

from aos_core import Cost, ErrorCode, EstimateContext, ResourceContract, Runtime, SkillError
from aos_core.testing import VirtualClock
from aos_core.testing.messages_api import MessagesAPIServer
from aos_skill_llm import AnthropicEstimator, LlmInvoke

MakeRuntime = Callable[..., Runtime]
AT = datetime(2026, 6, 1, tzinfo=UTC)
META = LlmInvoke.metadata


def _estimate(params: dict[str, object], config: dict[str, object] | None = None) -> object:
    return AnthropicEstimator().estimate(META, params, EstimateContext(at=AT, config=config or {}))


@pytest.mark.parametrize("model", ["claude-sonnet-5-5", "claude-opus-4-6", "claude-haiku-4-5"])
def test_money_matches_genai_prices_exactly(make_runtime: MakeRuntime, server: MessagesAPIServer, model: str) -> None:
    """The outcome's money is genai-prices' price of the reported usage at the run clock's time, to the digit."""
    server.reply_text("answer", input_tokens=1234, output_tokens=567)
    outcome = make_runtime(clock=VirtualClock(AT)).execute("llm_invoke", {"model": model, "prompt": "question"})
    assert outcome.ok, outcome.error
    expected = calc_price(
        Usage(input_tokens=1234, output_tokens=567), model, provider_id="anthropic", genai_request_timestamp=AT
    ).total_price
    assert isinstance(outcome.cost.money, Decimal) and outcome.cost.money == expected
    assert outcome.cost.input_tokens == 1234 and outcome.cost.output_tokens == 567 and outcome.cost.calls == 1
    assert outcome.model_dump(mode="json")["cost"]["money"] == format(expected, "f")


def test_example_price(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """claude-sonnet-5-5 at $2/$10 per million: 1,000 in and 500 out cost exactly $0.007."""
    server.reply_text("x", input_tokens=1000, output_tokens=500)
    outcome = make_runtime(clock=VirtualClock(AT)).execute("llm_invoke", {"model": "claude-sonnet-5-5", "prompt": "q"})
    assert outcome.cost.money == Decimal("0.007")


def test_worst_case_over_budget_is_refused_before_any_request(
    make_runtime: MakeRuntime, server: MessagesAPIServer
) -> None:
    """max_money 0.0001 cannot hold max_tokens of output: BUDGET_EXCEEDED, and the server never hears of it."""
    runtime = make_runtime(contract=ResourceContract(max_money="0.0001"))
    outcome = runtime.execute("llm_invoke", {"prompt": "hello", "max_tokens": 1024})
    assert outcome.error is not None and outcome.error.code is ErrorCode.BUDGET_EXCEEDED
    assert outcome.error.details["limit"] == "max_money"
    assert server.requests == []
    budget = runtime.query("budget")
    assert budget["spent"]["money"] == "0" and budget["reserved"]["money"] == "0"
    assert outcome.cost_warning is None
    assert outcome.cost == Cost(currency="USD")


def test_token_budget_refuses_too(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """max_output_tokens below max_tokens refuses the call the same way."""
    outcome = make_runtime(contract=ResourceContract(max_output_tokens=100)).execute(
        "llm_invoke", {"prompt": "hello", "max_tokens": 101}
    )
    assert outcome.error is not None and outcome.error.code is ErrorCode.BUDGET_EXCEEDED
    assert server.requests == []


def test_call_that_fits_runs_and_settles_real_usage(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """A call whose worst case fits is made; the budget is charged its actual cost, not the worst case."""
    runtime = make_runtime(contract=ResourceContract(max_money="0.05"), clock=VirtualClock(AT))
    server.reply_text("x", input_tokens=10, output_tokens=10)
    outcome = runtime.execute("llm_invoke", {"prompt": "hello", "max_tokens": 100})
    assert outcome.ok
    worst = _estimate({"prompt": "hello", "max_tokens": 100}).worst  # type: ignore[attr-defined]
    assert outcome.cost.money < worst.money
    assert Decimal(runtime.query("budget")["spent"]["money"]) == outcome.cost.money


@pytest.mark.parametrize(
    "prompt",
    ["", "a", "hello world " * 50, "ünïcödé ✓ 漢字 🙂" * 20, "\n".join(["line"] * 300)],
)
def test_worst_case_bounds_the_real_usage(make_runtime: MakeRuntime, server: MessagesAPIServer, prompt: str) -> None:
    """For the fake's tokenizer and a system prompt plus schema, reported usage never exceeds the worst case."""
    params = {"prompt": prompt or " ", "system": "Be kind.", "max_tokens": 50, "output_schema": {"type": "string"}}
    server.reply_json("ok")
    outcome = make_runtime(clock=VirtualClock(AT)).execute("llm_invoke", params)
    assert outcome.ok, outcome.error
    worst = _estimate(params).worst  # type: ignore[attr-defined]
    assert outcome.cost.fits_within(worst)


def test_estimate_orders_low_expected_worst() -> None:
    """low <= expected <= worst in tokens and money; the worst case is exactly its usage priced by genai-prices."""
    params = {"prompt": "x" * 4000, "max_tokens": 2000}
    estimate = _estimate(params)
    low, expected, worst = estimate.low, estimate.expected, estimate.worst  # type: ignore[attr-defined]
    assert low.fits_within(expected) and expected.fits_within(worst)
    assert worst.output_tokens == 2000 and worst.calls == 1 and worst.input_tokens >= 4000
    priced = calc_price(
        Usage(input_tokens=worst.input_tokens, output_tokens=2000),
        "claude-sonnet-5-5",
        provider_id="anthropic",
        genai_request_timestamp=AT,
    ).total_price
    assert worst.money == priced


def test_prompt_caching_raises_the_worst_case() -> None:
    """A block asking for cache_control may be billed as a (dearer) cache write: the worst case says so."""
    text = "y" * 2000
    plain = _estimate({"messages": [{"role": "user", "content": [{"type": "text", "text": text}]}]})
    cached = _estimate(
        {
            "messages": [
                {"role": "user", "content": [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]}
            ]
        }
    )
    assert cached.worst.money > plain.worst.money  # type: ignore[attr-defined]


def test_non_text_content_is_bounded_by_the_context_window() -> None:
    """An image's tokens do not follow from its bytes: the bound is the model's context window."""
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}}
    estimate = _estimate({"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": [image]}]})
    assert estimate.worst.input_tokens == 200_000  # type: ignore[attr-defined]


def test_price_overrides_come_from_runtime_configuration(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """skills.llm_invoke.prices overrides a model's prices (decimal strings), for that runtime only."""
    prices = {"claude-sonnet-5-5": {"input_mtok": "3", "output_mtok": "15"}}
    server.reply_text("x", input_tokens=1000, output_tokens=100)
    server.reply_text("x", input_tokens=1000, output_tokens=100)
    overridden = make_runtime(llm={"prices": prices}).execute("llm_invoke", {"prompt": "q"})
    plain = make_runtime().execute("llm_invoke", {"prompt": "q"})
    assert overridden.cost.money == Decimal("0.0045")  # 1000 * 3e-6 + 100 * 15e-6
    assert plain.cost.money == Decimal("0.003")  # genai-prices: $2 and $10


def test_unknown_model_is_refused_before_any_request(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """No bundled price and no override: the call is refused (its cost cannot be stated), nothing is sent."""
    outcome = make_runtime().execute("llm_invoke", {"model": "claude-unreleased-9", "prompt": "x"})
    assert outcome.error is not None and outcome.error.details.get("stage") == "estimate"
    assert outcome.error.code == "INVALID_INPUT"  # a bad model name, not a crash
    assert "skills.llm_invoke.prices.claude-unreleased-9" in outcome.error.message
    assert server.requests == []
    with pytest.raises(SkillError):
        _estimate({"model": "claude-unreleased-9", "prompt": "x"})


def test_unknown_model_with_override_runs(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """An override makes an unknown model usable, priced exactly."""
    prices = {"my-proxy-model": {"input_mtok": "1.5", "output_mtok": "7.25"}}
    server.reply_text("x", input_tokens=2, output_tokens=4)
    outcome = make_runtime(llm={"prices": prices}).execute("llm_invoke", {"model": "my-proxy-model", "prompt": "x"})
    assert outcome.ok and outcome.cost.money == Decimal("0.000032")


def test_invalid_override_is_a_clear_refusal(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """A price that is not a decimal is named in the refusal."""
    prices = {"claude-sonnet-5-5": {"input_mtok": "cheap", "output_mtok": "15"}}
    outcome = make_runtime(llm={"prices": prices}).execute("llm_invoke", {"prompt": "x"})
    assert outcome.error is not None and "prices.claude-sonnet-5-5" in outcome.error.message
    assert server.requests == []


def test_failed_call_costs_one_call_and_no_money(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """An API error is billed nothing: one call, no tokens, zero money."""
    server.reply_error(400, "bad")
    outcome = make_runtime().execute("llm_invoke", {"prompt": "x"})
    assert outcome.cost == Cost(calls=1, currency="USD")


def test_estimator_covers_only_llm_invoke() -> None:
    """The Anthropic estimator prices llm_invoke and nothing else."""
    other = META.model_copy(update={"name": "http_call"})
    assert AnthropicEstimator().covers(META) and not AnthropicEstimator().covers(other)


def test_secret_reference_in_the_prompt_is_bounded_by_the_window() -> None:
    """A ${secrets.X} in the prompt is resolved after estimating: only the context window bounds it."""
    estimate = _estimate({"model": "claude-haiku-4-5", "prompt": "key: ${secrets.BIG_VALUE}"})
    assert estimate.worst.input_tokens == 200_000  # type: ignore[attr-defined]
    mention = _estimate({"model": "claude-haiku-4-5", "prompt": "write ${secrets.<NAME>} for a secret"})
    assert mention.worst.input_tokens < 1_000  # type: ignore[attr-defined]
