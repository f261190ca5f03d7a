"""The fake Messages API: what it answers, what it records, and that the real client accepts it."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from aos_core.testing.messages_api import MessagesAPIServer, ScriptedReply

KEY = "sk-fake-key-0001"


def _post(
    server: MessagesAPIServer, body: Any, headers: dict[str, str] | None = None, path: str = "/v1/messages"
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(
        server.url + path, data=data, method="POST", headers={"content-type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), json.loads(exc.read())


BODY = {"model": "claude-sonnet-5-5", "max_tokens": 50, "messages": [{"role": "user", "content": "one two three four"}]}


def test_default_reply_is_a_deterministic_message() -> None:
    """With nothing scripted, the answer is a message echoing the prompt's first words, the same every time."""
    with MessagesAPIServer() as server:
        first = _post(server, BODY, {"x-api-key": KEY})
        second = _post(server, BODY, {"x-api-key": KEY})
    status, _, message = first
    assert status == 200
    assert message["type"] == "message" and message["role"] == "assistant" and message["model"] == "claude-sonnet-5-5"
    assert message["content"] == [{"type": "text", "text": "Summary: one two three four"}]
    assert message["stop_reason"] == "end_turn" and message["usage"]["output_tokens"] > 0
    assert {k: v for k, v in second[2].items() if k != "id"} == {k: v for k, v in message.items() if k != "id"}


def test_missing_or_wrong_key_is_401_authentication_error() -> None:
    """No x-api-key (or bearer) header, or a key other than the one configured: 401 authentication_error."""
    with MessagesAPIServer(api_key=KEY) as server:
        missing = _post(server, BODY)
        wrong = _post(server, BODY, {"x-api-key": "sk-other"})
        bearer = _post(server, BODY, {"authorization": f"Bearer {KEY}"})
    assert missing[0] == wrong[0] == 401
    assert missing[2]["error"]["type"] == "authentication_error"
    assert bearer[0] == 200


def test_scripted_replies_are_served_in_order_then_the_default() -> None:
    """Errors carry their status, type and headers; JSON and text replies follow; then the default."""
    with MessagesAPIServer() as server:
        server.reply_error(429, "slow down", headers={"retry-after": "3"})
        server.reply_error(529)
        server.reply_json({"a": 1}, input_tokens=7, output_tokens=2)
        assert server.pending == 3
        answers = [_post(server, BODY, {"x-api-key": KEY}) for _ in range(4)]
        assert server.pending == 0
    (s1, h1, b1), (s2, _, b2), (s3, _, b3), (s4, _, b4) = answers
    assert (s1, b1["error"]["type"], b1["error"]["message"], h1["retry-after"]) == (
        429,
        "rate_limit_error",
        "slow down",
        "3",
    )
    assert (s2, b2["error"]["type"]) == (529, "overloaded_error")
    assert (s3, b3["content"][0]["text"], b3["usage"]["input_tokens"], b3["usage"]["output_tokens"]) == (
        200,
        '{"a": 1}',
        7,
        2,
    )
    assert s4 == 200 and b4["content"][0]["text"].startswith("Summary:")


def test_long_answer_is_cut_at_max_tokens() -> None:
    """Text longer than max_tokens allows is cut, with stop_reason max_tokens, as the API does."""
    with MessagesAPIServer() as server:
        server.reply_text("word " * 100)
        _, _, message = _post(server, {**BODY, "max_tokens": 5}, {"x-api-key": KEY})
    assert message["stop_reason"] == "max_tokens" and message["usage"]["output_tokens"] <= 5


def test_requests_are_recorded_and_bad_bodies_refused() -> None:
    """Every request is recorded (path, lower-case headers, body); a body without messages is a 400."""
    with MessagesAPIServer() as server:
        _post(server, BODY, {"x-api-key": KEY, "X-Custom": "yes"})
        status, _, error = _post(server, {"model": "m", "max_tokens": 1, "messages": []}, {"x-api-key": KEY})
        unknown = _post(server, BODY, {"x-api-key": KEY}, path="/v1/complete")
        counted = _post(server, BODY, {"x-api-key": KEY}, path="/v1/messages/count_tokens")
        recorded = server.requests
    assert status == 400 and error["error"]["type"] == "invalid_request_error"
    assert unknown[0] == 404
    assert counted[0] == 200 and counted[2]["input_tokens"] > 0
    assert [r.path for r in recorded] == ["/v1/messages", "/v1/messages", "/v1/complete", "/v1/messages/count_tokens"]
    assert recorded[0].headers["x-custom"] == "yes" and recorded[0].body == BODY


def test_custom_default_and_delay() -> None:
    """`default` replaces the built-in answer; a reply may be delayed."""
    with MessagesAPIServer(
        default=lambda request: ScriptedReply(text=f"seen {len(request.body['messages'])}")
    ) as server:
        server.queue(ScriptedReply(text="slow", delay_s=0.05))
        assert _post(server, BODY, {"x-api-key": KEY})[2]["content"][0]["text"] == "slow"
        assert _post(server, BODY, {"x-api-key": KEY})[2]["content"][0]["text"] == "seen 1"


def test_real_client_reads_messages_and_errors() -> None:
    """The anthropic client parses the fake's messages, counts and errors (status, retry-after)."""
    import anthropic

    with MessagesAPIServer(api_key=KEY) as server:
        client = anthropic.Anthropic(api_key=KEY, base_url=server.url, max_retries=0)
        try:
            server.reply_text("hi", stop_reason="stop_sequence")
            message = client.messages.create(
                model="claude-sonnet-5-5", max_tokens=10, messages=[{"role": "user", "content": "x"}]
            )
            assert message.content[0].text == "hi" and message.stop_reason == "stop_sequence"  # type: ignore[union-attr]
            count = client.messages.count_tokens(
                model="claude-sonnet-5-5", messages=[{"role": "user", "content": "abcd"}]
            )
            assert count.input_tokens > 0
            server.reply_error(429, headers={"retry-after": "1"})
            with pytest.raises(anthropic.RateLimitError) as caught:
                client.messages.create(
                    model="claude-sonnet-5-5", max_tokens=10, messages=[{"role": "user", "content": "x"}]
                )
            assert caught.value.response.headers["retry-after"] == "1"
            server.reply_error(529)
            with pytest.raises(anthropic.InternalServerError):
                client.messages.create(
                    model="claude-sonnet-5-5", max_tokens=10, messages=[{"role": "user", "content": "x"}]
                )
        finally:
            client.close()


def test_url_needs_a_running_server_and_stop_is_idempotent() -> None:
    """`url` is only known while serving; stopping twice is harmless."""
    server = MessagesAPIServer()
    with pytest.raises(RuntimeError):
        _ = server.url
    server.start()
    assert server.url.startswith("http://127.0.0.1:")
    server.stop()
    server.stop()
