"""Rate limits at admission: take a token from every account's bucket for a skill, waiting as
each bucket says, unless the wait could not end inside the wall-time budget."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.execution.clock import SystemClock

if TYPE_CHECKING:
    from aos_core.execution.pipeline import CallScope

__all__ = ["take_rate_limits"]

_STUCK_CLOCK_TRIES = 3
_REAL_CLOCK = SystemClock()  # what a bucket in a store waits on (`Bucket.real_time`)


async def take_rate_limits(clock: Any, skill: str, scope: CallScope) -> float | ErrorInfo:
    """Take a token from every account's bucket for `skill`, waiting as each says: the seconds
    waited, or the error when a limit says fail or the clock does not move while waiting. A
    bucket in a store counts real time: its waits are real, whatever the runtime's clock (on a
    `VirtualClock`, whose sleep returns at once, they were a loop of store transactions until
    the real time passed: ~20,000 for two waits of 0.5 s)."""
    waited = 0.0
    for account in scope.accounts:
        bucket = account.bucket(skill)
        if bucket is None:
            continue
        timer = _REAL_CLOCK if bucket.real_time else clock
        now = timer.monotonic()
        stuck = 0
        wait = bucket.take(now)
        while wait > 0:
            if bucket.limit.on_limit == "fail":
                return _rate_limited(skill, bucket.limit.per_second, wait)
            beyond = _wait_beyond_wall_time(clock, skill, wait, scope)
            if beyond is not None:
                return beyond
            await scope.waits.sleep(timer, wait)
            waited += wait
            later = timer.monotonic()
            stuck = stuck + 1 if later <= now else 0
            if stuck >= _STUCK_CLOCK_TRIES:
                return make_error(
                    ErrorCode.RATE_LIMITED,
                    f"{skill} waited for its rate limit but the clock did not move; "
                    "a clock's sleep() must advance its monotonic()",
                    details={"rule": f"rate_limits.{skill}", "skill": skill},
                )
            now = later
            wait = bucket.take(now)
    return waited


def _wait_beyond_wall_time(clock: Any, skill: str, wait: float, scope: CallScope) -> ErrorInfo | None:
    """A rate-limit wait that would outlast an account's wall-time budget is refused before it
    starts (it used to sleep it all, a hang of up to 1/per_second, and be refused after)."""
    now = clock.monotonic()
    for account in scope.accounts:
        left = account.ledger.remaining_wall_ms(now)
        if left is not None and wait * 1000.0 >= left:
            contract = account.contract
            return make_error(
                ErrorCode.BUDGET_EXCEEDED,
                f"{skill} refused before the call: its rate limit means a wait of {wait:.3f} s, longer than "
                f"the {max(0, round(left))} ms left of the wall-time budget ({contract.max_wall_time_ms} ms)",
                details={
                    "limit": "max_wall_time_ms",
                    "requested": f"{round(wait * 1000.0)} ms",
                    "remaining": f"{max(0, round(left))} ms",
                    "rule": f"rate_limits.{skill}",
                    "skill": skill,
                    **({"contract": contract.id} if contract.id is not None else {}),
                },
            )
    return None


def _rate_limited(name: str, per_second: float, wait_s: float) -> ErrorInfo:
    retry_after = max(1, round(wait_s * 1000))
    return make_error(
        ErrorCode.RATE_LIMITED,
        f"{name} is rate limited to {per_second}/s; retry after {retry_after} ms",
        details={"rule": f"rate_limits.{name}", "skill": name},
        retry_after_ms=retry_after,
    )
