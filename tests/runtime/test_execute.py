"""`Runtime.execute`: validation, failures as data, timeouts, cancellation, retries."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, Field

from aos_core import Classification, ErrorCode, Policy, ResourceContract, RetryPolicy, SkillError
from aos_core.testing.fakes import fake_skill


class Point(BaseModel):
    x: int
    y: int = Field(ge=0)
    tags: list[str] = []


class Total(BaseModel):
    total: int


def add(params: Point, ctx: Any) -> Total:
    return Total(total=params.x + params.y)


def test_a_valid_call_returns_the_output_as_json(make_runtime: Any) -> None:
    runtime = make_runtime(fake_skill("add", add, input_model=Point, output_model=Total))
    outcome = runtime.execute("add", {"x": 2, "y": 3})
    assert outcome.ok and outcome.output == {"total": 5}
    assert outcome.skill == "add" and outcome.skill_version == "0.1.0"
    assert outcome.attempts == 1 and outcome.cost.calls == 1 and outcome.error is None


def test_bad_params_name_every_failing_field(make_runtime: Any) -> None:
    skill = fake_skill("add", add, input_model=Point, output_model=Total)
    runtime = make_runtime(skill)
    outcome = runtime.execute("add", {"y": -1, "tags": [1]})
    assert outcome.error.code == ErrorCode.SCHEMA_VALIDATION_FAILED
    locs = [e["loc"] for e in outcome.error.details["errors"]]
    assert locs == ["x", "y", "tags.0"]
    assert "x: Field required" in outcome.error.message
    assert skill.calls == []  # refused before the skill


def test_params_that_are_not_an_object_are_refused(make_runtime: Any) -> None:
    runtime = make_runtime(fake_skill("add", add, input_model=Point, output_model=Total))
    outcome = runtime.execute("add", ["x"])  # type: ignore[arg-type]
    assert outcome.error.code == ErrorCode.SCHEMA_VALIDATION_FAILED
    assert "must be a JSON object, got list" in outcome.error.message


def test_an_unknown_skill_names_the_closest_ones(make_runtime: Any) -> None:
    runtime = make_runtime(fake_skill("http_fetch"), fake_skill("json_pick"))
    outcome = runtime.execute("http_fetc", {})
    assert outcome.error.code == ErrorCode.SKILL_NOT_FOUND
    assert outcome.error.details["suggestions"] == ["http_fetch"]
    assert "did you mean http_fetch?" in outcome.error.message


def test_output_that_does_not_fit_the_output_model_fails(make_runtime: Any) -> None:
    runtime = make_runtime(fake_skill("bad", returns={"total": "many"}, output_model=Total))
    outcome = runtime.execute("bad", {})
    assert outcome.error.code == ErrorCode.OUTPUT_VALIDATION_FAILED
    assert outcome.error.details["errors"][0]["loc"] == "total"


def test_output_over_the_size_limit_fails(make_runtime: Any) -> None:
    runtime = make_runtime(fake_skill("big", returns={"blob": "x" * 5000}), config={"max_output_bytes": 1000})
    outcome = runtime.execute("big", {})
    assert outcome.error.code == ErrorCode.OUTPUT_VALIDATION_FAILED
    assert outcome.error.details["limit"] == 1000


def test_a_crash_becomes_skill_crashed_with_type_and_message_and_no_traceback(make_runtime: Any) -> None:
    runtime = make_runtime(fake_skill("boom", raises=ZeroDivisionError("division by zero")))
    outcome = runtime.execute("boom", {})
    assert outcome.error.code == ErrorCode.SKILL_CRASHED
    assert outcome.error.message == "boom crashed: ZeroDivisionError: division by zero"
    assert outcome.error.details["exception_type"] == "builtins.ZeroDivisionError"
    assert "Traceback" not in outcome.model_dump_json()


def test_skill_error_gives_its_code(make_runtime: Any) -> None:
    error = SkillError(ErrorCode.HTTP_4XX, "404 from upstream", details={"status": 404})
    runtime = make_runtime(fake_skill("get", raises=error, failure_codes=["HTTP_4XX"]))
    outcome = runtime.execute("get", {})
    assert outcome.error.code == ErrorCode.HTTP_4XX and outcome.error.details == {"status": 404}
    assert outcome.attempts == 1  # not retryable


class TeapotClassifier:
    name = "teapot"

    def __init__(self, code: ErrorCode) -> None:
        self.code = code

    def classify(self, exc: BaseException, skill: Any) -> Classification | None:
        if isinstance(exc, LookupError):
            return Classification(self.code, f"classified by {self.code}")
        return None


def test_classifiers_are_asked_by_priority_and_the_first_answer_wins(make_runtime: Any) -> None:
    from aos_core.testing.fakes import FakePlugin

    skill = fake_skill("lookup", raises=KeyError("k"))
    low = FakePlugin(classifiers=[TeapotClassifier(ErrorCode.INVALID_INPUT)], priority=1, name="low")
    high = FakePlugin(classifiers=[TeapotClassifier(ErrorCode.HTTP_4XX)], priority=5, name="high")
    from aos_core import Runtime

    with Runtime(plugins=[FakePlugin(skills=[skill]), low, high], entry_points=False) as runtime:
        outcome = runtime.execute("lookup", {})
    assert outcome.error.code == ErrorCode.HTTP_4XX
    assert outcome.error.details["classifier"] == "teapot"


@pytest.mark.parametrize(
    ("raised", "code"),
    [
        (ConnectionRefusedError(111, "Connection refused"), ErrorCode.CONNECTION_FAILED),
        (socket.gaierror(-2, "Name or service not known"), ErrorCode.DNS_FAILURE),
        (ssl.SSLError(1, "certificate verify failed"), ErrorCode.CONNECTION_FAILED),
        (TimeoutError("read timed out"), ErrorCode.TIMEOUT),
        (TimeoutError(), ErrorCode.TIMEOUT),
        (PermissionError(13, "Permission denied"), ErrorCode.PERMISSION_DENIED),
    ],
    ids=["refused", "gaierror", "ssl", "timeout", "asyncio-timeout", "permission"],
)
def test_the_builtin_classifier_maps_standard_exceptions(make_runtime: Any, raised: Exception, code: ErrorCode) -> None:
    runtime = make_runtime(fake_skill("fails", raises=raised), policy=Policy(retry=RetryPolicy(max_attempts=1)))
    assert runtime.execute("fails", {}).error.code == code


def test_an_inline_skill_past_its_timeout_is_a_timeout(make_runtime: Any) -> None:
    def slow(params: Any, ctx: Any) -> dict[str, Any]:
        time.sleep(0.05)
        return {}

    runtime = make_runtime(fake_skill("slow", slow, timeout_ms=10), policy=Policy(retry=RetryPolicy(max_attempts=1)))
    outcome = runtime.execute("slow", {})
    assert outcome.error.code == ErrorCode.TIMEOUT and outcome.error.details == {"timeout_ms": 10}


def test_a_blocking_skill_that_hangs_is_abandoned_at_its_timeout(make_runtime: Any) -> None:
    release = threading.Event()

    def hang(params: Any, ctx: Any) -> dict[str, Any]:
        release.wait(5)
        return {}

    runtime = make_runtime(
        fake_skill("hang", hang, blocking=True, timeout_ms=50), policy=Policy(retry=RetryPolicy(max_attempts=1))
    )
    started = time.monotonic()
    outcome = runtime.execute("hang", {})
    waited = time.monotonic() - started
    release.set()
    assert outcome.error.code == ErrorCode.TIMEOUT
    assert waited < 4  # abandoned, not waited for


def test_the_policy_overrides_a_skill_timeout(make_runtime: Any) -> None:
    async def slow(params: Any, ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(0.2)
        return {}

    policy = Policy(retry=RetryPolicy(max_attempts=1), timeouts_ms={"slow": 20})
    runtime = make_runtime(fake_skill("slow", slow, timeout_ms=10_000), policy=policy)
    outcome = runtime.execute("slow", {})
    assert outcome.error.code == ErrorCode.TIMEOUT and outcome.error.details["timeout_ms"] == 20


def test_cancelling_the_caller_cancels_the_call_and_releases_its_hold(make_runtime: Any) -> None:
    """asyncio's rule: cancelling the task awaiting `aexecute` raises CancelledError there (a
    timeout or task group around it relies on that); the call's reservation is released first."""
    started = asyncio.Event()

    async def forever(params: Any, ctx: Any) -> dict[str, Any]:
        started.set()
        await asyncio.sleep(30)
        return {}

    runtime = make_runtime(fake_skill("forever", forever), contract=ResourceContract(max_calls=1))

    async def main() -> None:
        task = asyncio.create_task(runtime.aexecute("forever", {}))
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    budget = runtime.query("budget")
    assert budget["reserved"]["calls"] == 0 and budget["spent"]["calls"] == 1  # charged its worst case


def test_a_skill_raising_cancelled_error_gives_cancelled(make_runtime: Any) -> None:
    runtime = make_runtime(fake_skill("quits", raises=asyncio.CancelledError()))
    assert runtime.execute("quits", {}).error.code == ErrorCode.CANCELLED


def test_retryable_failures_are_retried_up_to_max_attempts(make_runtime: Any, clock: Any) -> None:
    skill = fake_skill("flaky", raises=SkillError(ErrorCode.HTTP_5XX, "503"), failure_codes=["HTTP_5XX"])
    policy = Policy(retry=RetryPolicy(max_attempts=4, base_delay_ms=100, max_delay_ms=1000))
    runtime = make_runtime(skill, policy=policy, clock=clock)
    outcome = runtime.execute("flaky", {})
    assert outcome.error.code == ErrorCode.HTTP_5XX
    assert outcome.attempts == 4 and len(skill.calls) == 4
    assert outcome.cost.calls == 4
    # backoff 100, 200, 400 ms with jitter in [cap/2, cap]: waited on the virtual clock, not really
    assert 0.35 <= outcome.duration_ms / 1000 <= 0.7


def test_a_success_after_a_retry_records_its_attempts(make_runtime: Any, clock: Any) -> None:
    answers = iter([SkillError(ErrorCode.TIMEOUT, "slow"), {"fine": True}])

    def flaky(params: Any, ctx: Any) -> Any:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    runtime = make_runtime(fake_skill("flaky", flaky), clock=clock)
    outcome = runtime.execute("flaky", {})
    assert outcome.ok and outcome.attempts == 2


def test_retry_after_is_honoured(make_runtime: Any, clock: Any) -> None:
    error = SkillError(ErrorCode.RATE_LIMITED, "slow down", retry_after_ms=5_000)
    policy = Policy(retry=RetryPolicy(max_attempts=2, base_delay_ms=1, max_delay_ms=2))
    runtime = make_runtime(fake_skill("limited", raises=error), policy=policy, clock=clock)
    outcome = runtime.execute("limited", {})
    assert outcome.attempts == 2 and outcome.duration_ms >= 5_000


def test_retry_jitter_comes_from_the_seed(make_runtime: Any) -> None:
    from aos_core.execution.clock import VirtualClock

    durations = []
    for seed in (1, 1, 2):
        skill = fake_skill("flaky", raises=SkillError(ErrorCode.HTTP_5XX, "503"))
        runtime = make_runtime(skill, clock=VirtualClock(), seed=seed)
        durations.append(runtime.execute("flaky", {}).duration_ms)
    assert durations[0] == durations[1] != durations[2]


def test_permanent_failures_are_not_retried(make_runtime: Any) -> None:
    skill = fake_skill("bad", raises=SkillError(ErrorCode.INVALID_INPUT, "bad url"))
    runtime = make_runtime(skill)
    assert runtime.execute("bad", {}).attempts == 1 and len(skill.calls) == 1


def test_execute_and_aexecute_agree(make_runtime: Any) -> None:
    runtime = make_runtime(fake_skill("add", add, input_model=Point, output_model=Total))
    sync = runtime.execute("add", {"x": 1, "y": 1})
    asynchronous = asyncio.run(runtime.aexecute("add", {"x": 1, "y": 1}))
    assert sync.output == asynchronous.output and sync.ok and asynchronous.ok


def test_the_sync_api_refuses_to_run_inside_an_event_loop_for_async_skills(make_runtime: Any) -> None:
    async def works(params: Any, ctx: Any) -> dict[str, Any]:
        return {}

    runtime = make_runtime(fake_skill("works", works))

    async def misuse() -> None:
        runtime.execute("works", {})

    with pytest.raises(RuntimeError, match="await the a\\* method"):
        asyncio.run(misuse())


def test_a_retry_after_longer_than_the_policy_allows_is_not_waited_for(make_runtime: Any, clock: Any) -> None:
    error = SkillError(ErrorCode.RATE_LIMITED, "come back in an hour", retry_after_ms=3_600_000)
    skill = fake_skill("limited", raises=error)
    runtime = make_runtime(skill, clock=clock)
    outcome = runtime.execute("limited", {})
    assert outcome.attempts == 1 and len(skill.calls) == 1
    assert outcome.error.retry_after_ms == 3_600_000  # the caller decides whether to wait an hour


class DeferredIn(BaseModel):
    model_config = ConfigDict(defer_build=True)
    n: int


class DeferredOut(BaseModel):
    model_config = ConfigDict(defer_build=True)
    doubled: int


def test_a_skill_whose_models_defer_their_build_validates_in_and_out(make_runtime: Any) -> None:
    """Models built on first use (pydantic's defer_build) get the same checks as any other."""
    skill = fake_skill("double", lambda p, ctx: {"doubled": p.n * 2}, input_model=DeferredIn, output_model=DeferredOut)
    runtime = make_runtime(skill)
    assert runtime.execute("double", {"n": "21"}).output == {"doubled": 42}
    assert runtime.execute("double", {"n": "x"}).error.code == ErrorCode.SCHEMA_VALIDATION_FAILED
    assert asyncio.run(runtime.aexecute("double", {"n": 2})).output == {"doubled": 4}
