"""The shapes plugins implement, and the context a skill is handed.

These are structural (`typing.Protocol`): a plugin needs no base class, only the attributes
named here. The core checks them when the plugin loads.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar, runtime_checkable

from aos_core.contracts.errors import ErrorCode

if TYPE_CHECKING:  # annotations only: a plugin importing `SkillError` does not build every contract model
    from pydantic import BaseModel

    from aos_core.contracts.cost import Cost, CostEstimate
    from aos_core.contracts.errors import ErrorInfo
    from aos_core.contracts.outcome import StructuredOutcome
    from aos_core.contracts.plan import Plan
    from aos_core.contracts.profile import Policy
    from aos_core.contracts.resources import ResourceContract
    from aos_core.contracts.skill import SkillMetadata

__all__ = [
    "Cancellation",
    "Classification",
    "Clock",
    "CostEstimator",
    "EstimateContext",
    "FailureClassifier",
    "PlanRequest",
    "Planner",
    "PlannerContext",
    "PreflightContext",
    "Secrets",
    "Skill",
    "SkillContext",
    "SkillError",
    "StateView",
]

T = TypeVar("T")


class SkillError(Exception):
    """Raise from a skill to fail with a specific catalog code instead of `SKILL_CRASHED`.

    `details` must be JSON data. `retry_after_ms` tells the runtime how long the source asked
    to wait (a server's Retry-After); the runtime honours it when it retries.
    """

    def __init__(
        self,
        code: ErrorCode | str,
        message: str,
        *,
        details: Mapping[str, Any] | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = ErrorCode(code)
        self.message = message
        self.details = dict(details or {})
        self.retry_after_ms = retry_after_ms


@dataclass(frozen=True, slots=True)
class Classification:
    """A classifier's verdict on an exception: a catalog code and a line a person can act on."""

    code: ErrorCode
    message: str
    details: Mapping[str, Any] = field(default_factory=dict)
    retry_after_ms: int | None = None


class Clock(Protocol):
    """Time inside a run. Recorded in a run's trace, replayed from it.

    Waiting is part of the contract: rate-limit waits and retry delays sleep through the clock,
    so a virtual clock moves time instead of spinning, and a replay never really sleeps.
    """

    def now(self) -> datetime:
        """Current time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Block for `seconds` of this clock's time (a virtual clock just advances)."""
        ...

    async def asleep(self, seconds: float) -> None:
        """Wait for `seconds` of this clock's time without blocking the event loop."""
        ...


class Cancellation(Protocol):
    """`ctx.cancelled`: set when the runtime has given up on the call (its timeout passed, or
    the caller was cancelled). A skill that loops or blocks should check it and return early;
    whatever it returns after that is ignored."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool:
        """Block until it is set or `timeout` seconds pass; True when set."""
        ...


class Secrets(Protocol):
    """Secrets by name. A value read here is redacted from every outcome, trace and error."""

    def get(self, name: str) -> str:
        """The secret's value; `KeyError` naming it when it is not set."""
        ...

    def find(self, name: str) -> str | None:
        """The secret's value, or None when it is not set."""
        ...

    def remember(self, value: str, name: str) -> None:
        """Treat `value` as a secret from now on (e.g. a key that came from configuration)."""
        ...

    def contains_secret(self, text: str) -> bool:
        """Whether `text` holds a secret value seen so far, in any encoding AOS redacts
        (raw, URL-encoded, base64, JSON-escaped): e.g. a header not to forward to another origin."""
        ...

    def redact(self, text: str) -> str:
        """`text` with every secret value seen so far replaced by `[REDACTED:NAME]`."""
        ...


class StateView(Protocol):
    """The run's key-value state (JSON values). Writes are recorded and replayed."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any) -> None: ...

    def snapshot(self) -> dict[str, Any]: ...


class SkillContext(Protocol):
    """What a skill gets besides its parameters: everything non-deterministic comes from here."""

    @property
    def clock(self) -> Clock: ...

    @property
    def random(self) -> random.Random:
        """Seeded per run, step and attempt: a draw here never shifts another step's draws."""
        ...

    @property
    def secrets(self) -> Secrets: ...

    @property
    def policy(self) -> Policy: ...

    @property
    def state(self) -> StateView: ...

    @property
    def config(self) -> Mapping[str, Any]:
        """This skill's configuration (`skills.NAME` in the runtime configuration)."""
        ...

    @property
    def step_id(self) -> str: ...

    @property
    def attempt(self) -> int:
        """1 for the first attempt."""
        ...

    @property
    def deadline_ms(self) -> float | None:
        """The time this attempt may take, in milliseconds, counted from when the call started
        (a relative budget, not a wall-clock deadline); None when unlimited."""
        ...

    @property
    def cancelled(self) -> Cancellation:
        """Set when the runtime gave up on this call (timeout or cancellation): stop early."""
        ...

    @property
    def memory(self) -> Any:
        """The runtime's memory (`aos_core.Memory`'s methods: put, get, delete, search,
        list_namespaces). In a run every read and write is recorded in the attempt and a replay
        serves them back; writes are applied when the attempt succeeds, and only by a skill that
        declares side effects `write` or `destructive`."""
        ...

    @property
    def traceparent(self) -> str | None:
        """The W3C `traceparent` of this attempt (its span's when tracing is on, else the run's
        caller's), or None outside any trace. A skill that makes requests sends it on as the
        `traceparent` header, so the caller's trace continues through the service it calls."""
        ...

    def resource(self, key: str, factory: Callable[[], T]) -> T:
        """A per-runtime pooled object (an HTTP client, say), built once by `factory`.

        Objects with `aclose()` or `close()` are closed when the `Runtime` closes.
        """
        ...


@runtime_checkable
class Skill(Protocol):
    """A skill: metadata, input and output models, and `execute(params, ctx)`, sync or async.

    Optionally `preflight(params, ctx) -> list[PlanProblem]` finds, before anything runs, what
    would make a call fail at once that only the skill knows (a URL the network policy refuses,
    a missing API key); `aos simulate` reports each problem at its step and `aos run` refuses
    the plan before its first step. See `aos_register_skills` in `aos_core.hookspecs`.

    Optionally `is_idempotent(params) -> bool` says, per call, whether repeating this very call
    is safe (http_call: GET, HEAD, OPTIONS, PUT, DELETE, or a POST with an Idempotency-Key);
    without it, `metadata.idempotent` decides for every call. The answer is recorded in the
    trace and decides whether a failed call is retried and whether a call in flight when a
    process died is repeated on resume.

    Optionally `gen_ai(params, output) -> dict | None` describes a call to a generative model,
    for its OpenTelemetry span (asked only when tracing is on; `output` is None when the attempt
    failed): neutral facts, `operation` ("chat"), `provider`, `request_model`,
    `response_model`, `input_tokens`, `output_tokens`, `cache_read_input_tokens`,
    `cache_creation_input_tokens`, `finish_reasons`, `max_tokens`, `temperature`, and the
    `input_messages` and `output_messages` recorded only when content capture is on. The core
    turns them into the `gen_ai.*` attributes of the semantic-convention version in force.
    """

    metadata: SkillMetadata
    Input: type[BaseModel]
    Output: type[BaseModel]

    def execute(self, params: Any, ctx: SkillContext) -> Any | Awaitable[Any]: ...


@dataclass(frozen=True, slots=True)
class PlanRequest:
    """What a planner is asked: a goal, the skills it may use and the budget it must fit."""

    goal: str
    skills: Sequence[SkillMetadata]
    contract: ResourceContract
    config: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PreflightContext:
    """What a skill's optional `preflight(params, ctx)` may consult, without sending anything:
    the policy the plan would run under, the skill's configuration, and whether a secret is set
    (`has_secret(name)`; its value is never handed out here)."""

    policy: Policy
    config: Mapping[str, Any] = field(default_factory=dict)
    has_secret: Callable[[str], bool] = field(default=lambda name: False)


@dataclass(frozen=True, slots=True)
class EstimateContext:
    """What an estimator may use besides the call: the run clock's time, the skill's configuration,
    and (in `actual`) the call's error, whose details may carry usage a failed call still consumed."""

    at: datetime
    config: Mapping[str, Any] = field(default_factory=dict)
    error: ErrorInfo | None = None


class PlannerContext(SkillContext, Protocol):
    """A planner's context: a skill context (config is `planners.NAME`) that can also run skills."""

    async def execute(self, skill: str, params: Mapping[str, Any]) -> StructuredOutcome:
        """Run a skill through the runtime (policy, budget, retries, redaction all apply)."""
        ...


class Planner(Protocol):
    """Turns a goal into a `Plan`. `plan` may be sync or async; planners that call skills are async."""

    name: str
    description: str

    def plan(self, request: PlanRequest, ctx: PlannerContext) -> Plan | Awaitable[Plan]: ...


class FailureClassifier(Protocol):
    """Maps an exception raised by a skill to a catalog code; None passes it to the next one."""

    name: str

    def classify(self, exc: BaseException, skill: SkillMetadata) -> Classification | None: ...


class CostEstimator(Protocol):
    """Prices skills: a worst case before the call (reserved) and the actual cost after it."""

    name: str

    def covers(self, skill: SkillMetadata) -> bool:
        """Whether this estimator prices `skill`; asked once per skill, at load."""
        ...

    def estimate(self, skill: SkillMetadata, params: Mapping[str, Any], ctx: EstimateContext) -> CostEstimate:
        """Low, expected and worst-case cost of a call with these parameters."""
        ...

    def actual(
        self, skill: SkillMetadata, params: Mapping[str, Any], output: Mapping[str, Any] | None, ctx: EstimateContext
    ) -> Cost:
        """What a finished call cost; `output` is None when the call failed."""
        ...
