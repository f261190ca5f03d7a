"""llm_invoke through the real runtime and the real anthropic client, against a local fake API."""

from __future__ import annotations

import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from aos_core import ErrorCode, RetryPolicy, Runtime, SideEffect, SkillError
from aos_core.testing import VirtualClock
from aos_core.testing.messages_api import MessagesAPIServer, ScriptedReply
from aos_skill_llm import DEFAULT_MODEL, LlmInvoke
from aos_skill_llm.errors import retry_after_ms, translate_errors

MakeRuntime = Callable[..., Runtime]
API_KEY = "sk-test-7f3a9c1e5b2d4a6f8e0c"  # the key the fake server insists on (tests/llm/conftest.py)
DECLARED = set(LlmInvoke.metadata.failure_codes)
RUNTIME_CODES = {ErrorCode.BUDGET_EXCEEDED, ErrorCode.SCHEMA_VALIDATION_FAILED, ErrorCode.TIMEOUT}


def test_metadata_is_complete(make_runtime: MakeRuntime) -> None:
    """The loaded metadata states schemas, side effects, idempotency, determinism, timeout and codes."""
    meta = make_runtime().describe_skill("llm_invoke")
    assert meta.input_schema and set(meta.input_schema["properties"]) >= {
        "model",
        "prompt",
        "messages",
        "system",
        "max_tokens",
        "temperature",
        "stop_sequences",
        "output_schema",
    }
    assert meta.output_schema and set(meta.output_schema["properties"]) == {
        "text",
        "json",
        "stop_reason",
        "usage",
        "model",
    }
    assert meta.side_effects is SideEffect.NONE and meta.network
    assert meta.idempotent and not meta.deterministic
    assert meta.timeout_ms == 120_000
    assert meta.cost.uses_tokens
    assert set(meta.failure_codes) == {
        ErrorCode.INVALID_INPUT,
        ErrorCode.PERMISSION_DENIED,
        ErrorCode.RATE_LIMITED,
        ErrorCode.HTTP_4XX,
        ErrorCode.HTTP_5XX,
        ErrorCode.CONNECTION_FAILED,
        ErrorCode.TIMEOUT,
        ErrorCode.OUTPUT_VALIDATION_FAILED,
    }


def test_prompt_gives_text_usage_and_model(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """A prompt becomes one user message; the output carries text, stop reason, usage and model."""
    server.reply_text("Paris is sunny.", input_tokens=12, output_tokens=5)
    outcome = make_runtime().execute("llm_invoke", {"prompt": "Weather in Paris?", "max_tokens": 64})
    assert outcome.ok, outcome.error
    assert outcome.output == {
        "text": "Paris is sunny.",
        "json": None,
        "stop_reason": "end_turn",
        "usage": {
            "input_tokens": 12,
            "output_tokens": 5,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
        },
        "model": DEFAULT_MODEL,
    }
    (request,) = server.requests
    assert request.path == "/v1/messages"
    assert request.body == {
        "model": DEFAULT_MODEL,
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
    }


def test_messages_system_temperature_and_stops_are_sent(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """Every input field reaches the API as the Messages API names it."""
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello"},
        {"role": "user", "content": [{"type": "text", "text": "Count to 3"}]},
    ]
    params = {
        "model": "claude-haiku-4-5",
        "messages": messages,
        "system": "Be brief.",
        "max_tokens": 20,
        "temperature": 0.0,
        "stop_sequences": ["4"],
    }
    outcome = make_runtime().execute("llm_invoke", params)
    assert outcome.ok, outcome.error
    body = server.requests[0].body
    assert body == {
        "model": "claude-haiku-4-5",
        "max_tokens": 20,
        "messages": messages,
        "system": "Be brief.",
        "temperature": 0.0,
        "stop_sequences": ["4"],
    }
    assert outcome.output["model"] == "claude-haiku-4-5"


def test_output_schema_answer_is_parsed_and_validated(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """With output_schema, the schema is in the system prompt and output.json holds the parsed answer."""
    schema = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    server.reply_text('```json\n{"city": "Paris"}\n```')
    outcome = make_runtime().execute("llm_invoke", {"prompt": "Capital of France?", "output_schema": schema})
    assert outcome.ok, outcome.error
    assert outcome.output["json"] == {"city": "Paris"}
    assert '"required":["city"]' in server.requests[0].body["system"]


@pytest.mark.parametrize(
    ("answer", "fragment"),
    [
        ("The city is Paris.", "not valid JSON"),
        ('{"city": 3}', "does not match output_schema at city"),
        ('{"city": NaN}', "not valid JSON"),
        ('{"city": 1e999}', "out of range"),
    ],
)
def test_answer_not_matching_schema_is_output_validation_failed(
    make_runtime: MakeRuntime, server: MessagesAPIServer, answer: str, fragment: str
) -> None:
    """Prose, a wrong type or a non-JSON constant where JSON was asked for: OUTPUT_VALIDATION_FAILED, not retried."""
    server.reply_text(answer)
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    outcome = make_runtime().execute("llm_invoke", {"prompt": "Capital?", "output_schema": schema})
    assert outcome.error is not None and outcome.error.code is ErrorCode.OUTPUT_VALIDATION_FAILED
    assert fragment in outcome.error.message
    assert outcome.attempts == 1 and outcome.error.code in DECLARED


def test_invalid_output_schema_is_refused_before_the_call(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """An output_schema that is not JSON Schema is INVALID_INPUT and nothing is sent."""
    outcome = make_runtime().execute("llm_invoke", {"prompt": "x", "output_schema": {"type": "no-such-type"}})
    assert outcome.error is not None and outcome.error.code is ErrorCode.INVALID_INPUT
    assert "output_schema" in outcome.error.message
    assert server.requests == []


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, ErrorCode.INVALID_INPUT),
        (401, ErrorCode.PERMISSION_DENIED),
        (403, ErrorCode.PERMISSION_DENIED),
        (404, ErrorCode.HTTP_4XX),
        (413, ErrorCode.HTTP_4XX),
        (429, ErrorCode.RATE_LIMITED),
        (500, ErrorCode.HTTP_5XX),
        (503, ErrorCode.HTTP_5XX),
        (529, ErrorCode.HTTP_5XX),
    ],
)
def test_api_errors_map_to_declared_codes(
    make_runtime: MakeRuntime, server: MessagesAPIServer, status: int, code: ErrorCode
) -> None:
    """Each API error status becomes its catalog code, with the API's message and status in details."""
    for _ in range(3):
        server.reply_error(status, f"scripted {status}")
    outcome = make_runtime(retry=RetryPolicy(max_attempts=3, base_delay_ms=0, max_delay_ms=0)).execute(
        "llm_invoke", {"prompt": "x"}
    )
    assert outcome.error is not None
    assert outcome.error.code is code and code in DECLARED
    assert f"scripted {status}" in outcome.error.message
    assert outcome.error.details["status"] == status
    assert outcome.attempts == (3 if outcome.error.retryable else 1)


def test_overloaded_then_success_is_retried(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """529 overloaded and 500 are retried by AOS (the SDK itself never retries)."""
    server.reply_error(529)
    server.reply_error(500)
    server.reply_text("third time lucky")
    outcome = make_runtime().execute("llm_invoke", {"prompt": "x"})
    assert outcome.ok and outcome.output["text"] == "third time lucky"
    assert outcome.attempts == 3 and len(server.requests) == 3
    assert [r.headers["x-stainless-retry-count"] for r in server.requests] == ["0", "0", "0"]


@pytest.mark.parametrize("headers", [{"retry-after": "2"}, {"retry-after-ms": "2000"}])
def test_rate_limit_waits_for_retry_after(
    make_runtime: MakeRuntime, server: MessagesAPIServer, headers: dict[str, str]
) -> None:
    """429 carries the server's Retry-After; the retry waits at least that long (on a virtual clock)."""
    server.reply_error(429, "slow down", headers=headers)
    server.reply_text("ok now")
    clock = VirtualClock()
    outcome = make_runtime(clock=clock).execute("llm_invoke", {"prompt": "x"})
    assert outcome.ok and outcome.attempts == 2
    assert outcome.duration_ms >= 2000  # virtual time: the wait was taken, nobody slept


def test_rate_limit_error_carries_retry_after(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """When retries run out, the RATE_LIMITED error still says how long to wait."""
    server.reply_error(429, headers={"retry-after": "7"})
    outcome = make_runtime(retry=RetryPolicy(max_attempts=1)).execute("llm_invoke", {"prompt": "x"})
    assert outcome.error is not None and outcome.error.code is ErrorCode.RATE_LIMITED
    assert outcome.error.retry_after_ms == 7000 and outcome.error.retryable
    assert "retry after 7000 ms" in outcome.error.message


def test_overloaded_retry_after_is_honoured(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """A 529 with Retry-After waits that long too."""
    server.reply_error(529, headers={"retry-after": "3"})
    server.reply_text("ok")
    outcome = make_runtime(clock=VirtualClock()).execute("llm_invoke", {"prompt": "x"})
    assert outcome.ok and outcome.duration_ms >= 3000


def test_no_key_is_permission_denied_before_any_request(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """Without a key in configuration or ANTHROPIC_API_KEY: PERMISSION_DENIED saying how to set one; nothing sent."""
    outcome = make_runtime(llm={"api_key": None}).execute("llm_invoke", {"prompt": "x"})
    assert outcome.error is not None and outcome.error.code is ErrorCode.PERMISSION_DENIED
    assert "ANTHROPIC_API_KEY" in outcome.error.message and "skills.llm_invoke.api_key" in outcome.error.message
    assert outcome.attempts == 1 and server.requests == []


def test_key_from_environment_is_used_and_redacted(
    make_runtime: MakeRuntime, server: MessagesAPIServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ANTHROPIC_API_KEY is read through the runtime's secrets, so an echo of it is redacted."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", API_KEY)
    server.reply_text(f"your key is {API_KEY}")
    outcome = make_runtime(llm={"api_key": None}).execute("llm_invoke", {"prompt": "x"})
    assert outcome.ok
    assert server.requests[0].headers["authorization"] == f"Bearer {API_KEY}"
    assert outcome.output["text"] == "your key is [REDACTED:ANTHROPIC_API_KEY]"


def test_key_from_a_secret_reference(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """skills.llm_invoke.api_key may name a secret as ${secrets.NAME}."""
    runtime = make_runtime(llm={"api_key": "${secrets.MY_CLAUDE_KEY}"}, secrets={"MY_CLAUDE_KEY": API_KEY})
    assert runtime.execute("llm_invoke", {"prompt": "x"}).ok
    missing = make_runtime(llm={"api_key": "${secrets.NOT_SET}"}, secrets={})
    outcome = missing.execute("llm_invoke", {"prompt": "x"})
    assert outcome.error is not None and outcome.error.code is ErrorCode.PERMISSION_DENIED
    assert "NOT_SET" in outcome.error.message and len(server.requests) == 1


def test_wrong_key_is_permission_denied(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """The API's 401 for a wrong key is PERMISSION_DENIED, not retried."""
    outcome = make_runtime(llm={"api_key": "sk-wrong-0000000000"}).execute("llm_invoke", {"prompt": "x"})
    assert outcome.error is not None and outcome.error.code is ErrorCode.PERMISSION_DENIED
    assert outcome.attempts == 1 and "sk-wrong-0000000000" not in outcome.model_dump_json()


def test_refused_connection_is_connection_failed(make_runtime: MakeRuntime) -> None:
    """Nothing listening at base_url: CONNECTION_FAILED (retryable), naming the address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    outcome = make_runtime(llm={"base_url": f"http://127.0.0.1:{port}"}).execute("llm_invoke", {"prompt": "x"})
    assert outcome.error is not None and outcome.error.code is ErrorCode.CONNECTION_FAILED
    assert f"127.0.0.1:{port}" in outcome.error.message and outcome.attempts == 3


def test_slow_answer_is_timeout(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """An answer slower than the skill's timeout is TIMEOUT (the SDK's timeout is the call's deadline)."""
    server.queue(ScriptedReply(text="late", delay_s=1.0))
    runtime = make_runtime(retry=RetryPolicy(max_attempts=1), timeouts_ms={"llm_invoke": 200})
    outcome = runtime.execute("llm_invoke", {"prompt": "x"})
    assert outcome.error is not None and outcome.error.code is ErrorCode.TIMEOUT  # the SDK's or the runtime's


def test_sdk_timeout_and_connection_errors_translate() -> None:
    """The SDK's own timeout and connection errors become TIMEOUT and CONNECTION_FAILED."""
    import anthropic
    import httpx2

    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/messages")
    cases = [
        (anthropic.APITimeoutError(request=request), ErrorCode.TIMEOUT),
        (anthropic.APIConnectionError(request=request), ErrorCode.CONNECTION_FAILED),
    ]
    for raised, code in cases:
        with pytest.raises(SkillError) as caught, translate_errors(lambda: datetime.now(UTC), 1.5):
            raise raised
        assert caught.value.code is code
        assert "127.0.0.1" in caught.value.message or "1500 ms" in caught.value.message


def test_client_is_pooled_per_runtime(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """Calls of one runtime share one client, and so one kept-alive connection."""
    runtime = make_runtime()
    for _ in range(3):
        assert runtime.execute("llm_invoke", {"prompt": "x"}).ok
    assert len(server.requests) == 3
    assert len({r.client_port for r in server.requests}) == 1


def test_bad_params_are_schema_validation_failed(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """Both prompt and messages, or neither: refused by the input model, nothing sent."""
    runtime = make_runtime()
    both = runtime.execute("llm_invoke", {"prompt": "x", "messages": [{"role": "user", "content": "y"}]})
    neither = runtime.execute("llm_invoke", {"max_tokens": 5})
    for outcome in (both, neither):
        assert outcome.error is not None and outcome.error.code is ErrorCode.SCHEMA_VALIDATION_FAILED
    assert server.requests == []


def test_every_code_seen_is_declared_or_a_runtime_code(make_runtime: MakeRuntime, server: MessagesAPIServer) -> None:
    """Across a mix of failures, each code is in metadata.failure_codes or is one the runtime adds."""
    runtime = make_runtime(retry=RetryPolicy(max_attempts=1))
    for status in (400, 401, 404, 429, 500, 529):
        server.reply_error(status)
    server.reply_text("not json")
    codes = {runtime.execute("llm_invoke", {"prompt": "x"}).error.code for _ in range(6)}  # type: ignore[union-attr]
    codes.add(runtime.execute("llm_invoke", {"prompt": "x", "output_schema": {"type": "object"}}).error.code)  # type: ignore[union-attr]
    assert codes <= DECLARED | RUNTIME_CODES
    assert len(codes) == 6


def test_retry_after_forms() -> None:
    """retry-after-ms wins; retry-after may be seconds or an HTTP date; nonsense is ignored."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    later = (start + timedelta(seconds=30)).strftime("%a, %d %b %Y %H:%M:%S GMT")

    def now() -> datetime:
        return start

    assert retry_after_ms({"retry-after-ms": "250", "retry-after": "9"}, now) == 250
    assert retry_after_ms({"retry-after": "1.5"}, now) == 1500
    assert retry_after_ms({"retry-after": later}, now) == 30_000
    assert retry_after_ms({"retry-after": "soon"}, now) is None
    assert retry_after_ms({}, now) is None
