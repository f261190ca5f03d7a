"""With metrics on and tracing off, the attempts that matter to the metrics are still reported:
a wait for a rate limit and a retried failure are counted, each once."""

from __future__ import annotations

import re
from typing import Any

from aos_core import (
    AgentProfile,
    ErrorCode,
    Policy,
    RateLimit,
    ResourceContract,
    RetryPolicy,
    Runtime,
    SkillError,
    render_metrics,
)
from aos_core.testing import FakePlugin, VirtualClock, fake_skill


def _value(registry: Any, name: str, **labels: str) -> float:
    from prometheus_client.parser import text_string_to_metric_families

    body, _ = render_metrics(registry=registry)
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


class _FailsOnce:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, params: Any, ctx: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise SkillError(ErrorCode.CONNECTION_FAILED, "first attempt fails")
        return {"echo": params.text}


def _runtime(registry: Any) -> Runtime:
    skills = [fake_skill("echo"), fake_skill("flaky", fn=_FailsOnce(), failure_codes=[ErrorCode.CONNECTION_FAILED])]
    contract = ResourceContract(rate_limits={"echo": RateLimit(per_second=1, burst=1)})
    policy = Policy(retry=RetryPolicy(max_attempts=2, base_delay_ms=0, max_delay_ms=0))
    return Runtime(
        plugins=[FakePlugin(skills=skills, name="fakes")],
        entry_points=False,
        profile=AgentProfile(policy=policy, contract=contract),
        clock=VirtualClock(),  # the second echo waits a virtual second, every time
        metrics=registry,
        tracing=False,
    )


def test_a_rate_limit_wait_is_counted_without_tracing(registry: Any) -> None:
    """The second call within the bucket's second waits for it, and the wait is counted."""
    with _runtime(registry) as rt:
        assert rt.execute("echo", {"text": "a"}).ok
        assert rt.execute("echo", {"text": "b"}).ok
    assert _value(registry, "aos_rate_limit_waits_total", skill="echo") == 1
    assert _value(registry, "aos_rate_limit_wait_seconds_total", skill="echo") > 0


def test_a_retried_attempt_is_counted_without_tracing(registry: Any) -> None:
    """The failed first attempt that is retried is counted by its code; the call by its outcome."""
    with _runtime(registry) as rt:
        outcome = rt.execute("flaky", {"text": "c"})
    assert outcome.ok and outcome.attempts == 2
    assert _value(registry, "aos_skill_retries_total", skill="flaky", code="CONNECTION_FAILED") == 1
    assert _value(registry, "aos_skill_attempts_total", skill="flaky") == 2
    assert not re.search(r"aos_skill_retries_total\{[^}]*skill=\"echo\"", render_metrics(registry=registry)[0].decode())
