"""Runtime test helpers: a runtime built from fake skills, on a virtual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aos_core import AgentProfile, Policy, ResourceContract, RetryPolicy, Runtime
from aos_core.execution.clock import VirtualClock
from aos_core.testing.fakes import FakePlugin

FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_ms=10, max_delay_ms=40)


@pytest.fixture
def make_runtime() -> Iterator[Callable[..., Runtime]]:
    """`make_runtime(skill, ..., policy=..., contract=..., **runtime_kwargs)`; closed after the test."""
    made: list[Runtime] = []

    def build(
        *skills: Any,
        policy: Policy | None = None,
        contract: ResourceContract | None = None,
        classifiers: tuple[Any, ...] = (),
        estimators: tuple[Any, ...] = (),
        **kwargs: Any,
    ) -> Runtime:
        profile = AgentProfile(policy=policy or Policy(retry=FAST_RETRY), contract=contract or ResourceContract())
        plugin = FakePlugin(skills=skills, classifiers=classifiers, estimators=estimators)
        kwargs.setdefault("seed", 1234)
        runtime = Runtime(profile=profile, plugins=[plugin], entry_points=False, **kwargs)
        made.append(runtime)
        return runtime

    yield build
    for runtime in made:
        runtime.close()


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()
