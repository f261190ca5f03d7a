"""The `http_call` skill: metadata, models and the call."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aos_core import ErrorCode, PlanProblem, PreflightContext, SideEffect, SkillContext, SkillMetadata
from aos_skill_http.models import HttpCallInput, HttpCallOutput

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aos_skill_http.connect import Resolver

    Perform = Callable[[HttpCallInput, SkillContext, Resolver | None], Awaitable[HttpCallOutput]]

__all__ = ["FAILURE_CODES", "IDEMPOTENT_METHODS", "HttpCall"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

FAILURE_CODES = (
    ErrorCode.INVALID_INPUT,
    ErrorCode.POLICY_VIOLATION,
    ErrorCode.DNS_FAILURE,
    ErrorCode.CONNECTION_FAILED,
    ErrorCode.TIMEOUT,
    ErrorCode.HTTP_4XX,
    ErrorCode.HTTP_5XX,
    ErrorCode.RATE_LIMITED,
    ErrorCode.OUTPUT_VALIDATION_FAILED,
)


class HttpCall:
    """Make one HTTP request under the runtime's network policy.

    `resolver` replaces the system's DNS resolver (an async `(host, port) -> [address, ...]`);
    tests use it to serve names from a table. Every address it returns is still judged.
    """

    metadata = SkillMetadata(
        name="http_call",
        version="0.1.0",
        description="Make an HTTP request; private, loopback and metadata addresses are refused unless allowed.",
        side_effects=SideEffect.WRITE,
        network=True,
        idempotent=False,
        deterministic=False,
        timeout_ms=30_000,
        failure_codes=FAILURE_CODES,
        permissions=("net",),
        expected_latency_ms=300.0,
    )
    Input = HttpCallInput
    Output = HttpCallOutput

    def __init__(self, resolver: Resolver | None = None) -> None:
        self.resolver = resolver

    def is_idempotent(self, params: HttpCallInput) -> bool:
        """Whether repeating this very request is safe (RFC 9110 idempotent methods), or the
        caller made a POST or PATCH repeatable with an Idempotency-Key header."""
        if params.method in IDEMPOTENT_METHODS:
            return True
        return any(name.lower() == "idempotency-key" for name in params.headers)

    def preflight(self, params: dict[str, Any], ctx: PreflightContext) -> list[PlanProblem]:
        """A literal URL the network policy refuses whatever DNS says (checked before a run)."""
        from aos_skill_http.preflight import preflight

        return preflight(params, ctx)

    async def execute(self, params: HttpCallInput, ctx: SkillContext) -> HttpCallOutput:
        perform = _perform or _load()
        return await perform(params, ctx, self.resolver)


_perform: Perform | None = None


def _load() -> Perform:
    """`call.perform`, imported on the first call (it imports the HTTP library)."""
    global _perform  # noqa: PLW0603 - a lazily imported function, remembered
    from aos_skill_http.call import perform

    _perform = perform
    return perform
