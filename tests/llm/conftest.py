"""Fixtures for aos-skill-llm: a local fake Messages API and runtimes pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import aos_skill_llm.plugin
from aos_core import AgentProfile, Policy, ResourceContract, RetryPolicy, Runtime
from aos_core.testing.messages_api import MessagesAPIServer

API_KEY = "sk-test-7f3a9c1e5b2d4a6f8e0c"

MakeRuntime = Callable[..., Runtime]


@pytest.fixture(autouse=True)
def _no_anthropic_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The SDK's own environment variables never leak into a test."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_BASE_URL", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def server() -> Iterator[MessagesAPIServer]:
    """A fake Messages API on 127.0.0.1 that insists on API_KEY."""
    with MessagesAPIServer(api_key=API_KEY) as fake:
        yield fake


@pytest.fixture
def make_runtime(server: MessagesAPIServer) -> Iterator[MakeRuntime]:
    """Build runtimes with the llm plugin, pointed at `server`; all are closed after the test.

    Keywords: `llm` (extra skills.llm_invoke settings, `api_key=None` drops the key), `contract`,
    `retry` (a RetryPolicy), `timeouts_ms`, `planners`, `plugins` (added to the llm plugin), and any
    other `Runtime` argument.
    """
    made: list[Runtime] = []

    def make(
        *,
        llm: dict[str, Any] | None = None,
        contract: ResourceContract | None = None,
        retry: RetryPolicy | None = None,
        timeouts_ms: dict[str, int] | None = None,
        planners: dict[str, Any] | None = None,
        plugins: tuple[Any, ...] | list[Any] = (),
        **kwargs: Any,
    ) -> Runtime:
        settings: dict[str, Any] = {"base_url": server.url, "api_key": API_KEY, **(llm or {})}
        settings = {k: v for k, v in settings.items() if v is not None}
        policy = Policy(retry=retry or RetryPolicy(base_delay_ms=1, max_delay_ms=5), timeouts_ms=timeouts_ms or {})
        runtime = Runtime(
            entry_points=False,
            plugins=[aos_skill_llm.plugin, *plugins],
            config={"skills": {"llm_invoke": settings}, "planners": planners or {}},
            profile=AgentProfile(policy=policy, contract=contract or ResourceContract()),
            **kwargs,
        )
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()
