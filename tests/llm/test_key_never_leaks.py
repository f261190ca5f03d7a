"""The API key never appears in an outcome, error, log record, history or plan result."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from typing import Any

import pytest

from aos_core import RetryPolicy, Runtime
from aos_core.testing.messages_api import MessagesAPIServer

MakeRuntime = Callable[..., Runtime]
API_KEY = "sk-test-7f3a9c1e5b2d4a6f8e0c"  # the key the fake server insists on (tests/llm/conftest.py)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_key_appears_nowhere(
    make_runtime: MakeRuntime,
    server: MessagesAPIServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Success, API errors, a connection failure, a bad answer and a plan, all with the SDK logging at debug."""
    monkeypatch.setenv("ANTHROPIC_LOG", "debug")
    caplog.set_level(logging.DEBUG)
    for name in ("anthropic", "httpx2", "httpx", "httpcore", "aos_core"):
        caplog.set_level(logging.DEBUG, logger=name)
    runtime = make_runtime(retry=RetryPolicy(max_attempts=2, base_delay_ms=0, max_delay_ms=0))
    texts: list[str] = []

    def run(params: dict[str, Any]) -> None:
        outcome = runtime.execute("llm_invoke", params)
        texts.append(outcome.model_dump_json())
        texts.append(repr(outcome))

    run({"prompt": "hello"})
    server.reply_error(400, "bad request")
    run({"prompt": "x"})
    server.reply_error(429, headers={"retry-after": "0"})
    server.reply_error(529)
    run({"prompt": "x"})
    server.reply_text("not json")
    run({"prompt": "x", "output_schema": {"type": "object"}})
    server.reply_text(f"echo {API_KEY} echo")
    run({"prompt": "echo my key"})
    wrong = make_runtime(llm={"base_url": f"http://127.0.0.1:{_closed_port()}"})
    texts.append(wrong.execute("llm_invoke", {"prompt": "x"}).model_dump_json())
    server.reply_json({"version": 1, "steps": [{"id": "a", "skill": "nope", "params": {}}]})
    texts.append(asyncio.run(_plan(make_runtime)).model_dump_json())
    for rt in (runtime, wrong):
        texts.append(str(rt.query("history")))
        texts.append(str(rt.query("budget")))
        texts.append(str(rt.query("plugins")))
    texts.append(caplog.text)
    texts.extend(str(record.__dict__) for record in caplog.records)

    assert any(API_KEY in r.headers.get("authorization", "") for r in server.requests), "the key was sent"
    assert any(record.name.startswith("anthropic") for record in caplog.records), "the SDK did log"
    leaks = [text for text in texts if API_KEY in text]
    assert not leaks, leaks[0][:500]
    assert "[REDACTED:ANTHROPIC_API_KEY]" in "".join(texts)  # the echoed key was caught, not merely absent


async def _plan(make_runtime: MakeRuntime) -> Any:
    async with make_runtime() as runtime:
        return await runtime.aplan("do something", planner="claude")
