"""Whether a failed http_call is sent again: only when repeating that very request is safe (an
idempotent method, or an Idempotency-Key), when the failure proves it was never sent, or when the
policy says so. The server here counts what it really received."""

from __future__ import annotations

from typing import Any

import aos_skill_http.plugin
from aos_core import AgentProfile, ErrorCode, NetworkPolicy, Policy, RetryPolicy, Runtime

from .conftest import CountingServer, MakeRuntime


def test_a_post_answered_503_is_sent_once(make_runtime: MakeRuntime, counting: CountingServer) -> None:
    """A POST may have had its effect before the 503: it is not repeated."""
    outcome = make_runtime(counting.allow).execute("http_call", {"method": "POST", "url": counting("/status/503")})
    assert outcome.error.code == ErrorCode.HTTP_5XX and outcome.attempts == 1
    assert counting.hits[("POST", "/status/503")] == 1


def test_a_post_that_times_out_is_sent_once(make_runtime: MakeRuntime, counting: CountingServer) -> None:
    """A POST cut off by its timeout after it was sent is not sent again."""
    runtime = make_runtime(counting.allow)
    outcome = runtime.execute("http_call", {"method": "POST", "url": counting("/slow"), "timeout_ms": 200})
    assert outcome.error.code == ErrorCode.TIMEOUT and outcome.attempts == 1
    assert counting.hits[("POST", "/slow")] == 1


def test_a_get_answered_503_is_retried(make_runtime: MakeRuntime, counting: CountingServer) -> None:
    """GET is idempotent: it is tried again up to max_attempts."""
    outcome = make_runtime(counting.allow).execute("http_call", {"url": counting("/status/503")})
    assert outcome.attempts == 3 and counting.hits[("GET", "/status/503")] == 3


def test_a_post_with_an_idempotency_key_answered_503_is_retried(
    make_runtime: MakeRuntime, counting: CountingServer
) -> None:
    """An Idempotency-Key header makes a POST safe to repeat."""
    params = {"method": "POST", "url": counting("/status/503"), "headers": {"Idempotency-Key": "order-42"}}
    outcome = make_runtime(counting.allow).execute("http_call", params)
    assert outcome.attempts == 3 and counting.hits[("POST", "/status/503")] == 3


def test_a_post_refused_at_connect_is_retried(make_runtime: MakeRuntime, closed_port: int) -> None:
    """Connection refused proves nothing was sent, so even a POST is tried again."""
    runtime = make_runtime(f"127.0.0.1:{closed_port}")
    outcome = runtime.execute("http_call", {"method": "POST", "url": f"http://127.0.0.1:{closed_port}/"})
    assert outcome.error.code == ErrorCode.CONNECTION_FAILED and outcome.attempts == 3
    assert outcome.error.details["request_sent"] is False


def test_a_policy_may_allow_repeating_unsafe_calls(counting: CountingServer) -> None:
    """`RetryPolicy(repeat_unsafe=True)` retries a POST answered 503."""
    policy = Policy(
        network=NetworkPolicy(allow=(counting.allow,)),
        retry=RetryPolicy(max_attempts=3, base_delay_ms=1, max_delay_ms=2, repeat_unsafe=True),
    )
    with Runtime(entry_points=False, plugins=[aos_skill_http.plugin], profile=AgentProfile(policy=policy)) as rt:
        outcome = rt.execute("http_call", {"method": "POST", "url": counting("/status/503")})
    assert outcome.attempts == 3 and counting.hits[("POST", "/status/503")] == 3


def test_each_attempt_records_in_the_trace_whether_that_call_was_idempotent(
    make_runtime: MakeRuntime, counting: CountingServer
) -> None:
    """The run's trace says per attempt whether the call could be repeated safely: the decision a resume uses."""
    plan = {
        "steps": [
            {"id": "get", "skill": "http_call", "params": {"url": counting("/ok")}},
            {"id": "post", "skill": "http_call", "params": {"method": "POST", "url": counting("/ok")}},
            {
                "id": "keyed",
                "skill": "http_call",
                "params": {"method": "POST", "url": counting("/ok"), "headers": {"idempotency-key": "k1"}},
            },
            {"id": "put", "skill": "http_call", "params": {"method": "PUT", "url": counting("/ok")}},
        ]
    }
    runtime = make_runtime(counting.allow)
    result = runtime.run(plan)
    assert result.ok
    steps: dict[str, Any] = runtime.trace(result.run_id).steps
    recorded = {step_id: [a["idempotent"] for a in record["attempts"]] for step_id, record in steps.items()}
    assert recorded == {"get": [True], "post": [False], "keyed": [True], "put": [True]}
