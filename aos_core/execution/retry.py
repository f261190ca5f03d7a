"""How long to wait before retrying a failed call: backoff with seeded jitter, or Retry-After."""

from __future__ import annotations

from aos_core.contracts.errors import ErrorInfo
from aos_core.contracts.profile import RetryPolicy
from aos_core.execution.seeds import seeded_random

__all__ = ["retry_delay"]


def retry_delay(retry: RetryPolicy, error: ErrorInfo, seed: int, step_id: str, attempt: int) -> float | None:
    """Seconds before attempt `attempt + 1`; None when the server asks for longer than allowed.

    Exponential backoff capped at `max_delay_ms`, with jitter in its upper half drawn from the
    run's seed (so a replay waits the same), and never shorter than the error's Retry-After.
    """
    if error.retry_after_ms is not None and error.retry_after_ms > retry.max_retry_after_ms:
        return None
    cap = min(retry.max_delay_ms, retry.base_delay_ms * 2 ** (attempt - 1)) / 1000.0
    rng = seeded_random(seed, step_id, attempt, "retry")
    delay = cap / 2 + rng.uniform(0, cap / 2)
    if error.retry_after_ms is not None:
        delay = max(delay, error.retry_after_ms / 1000.0)
    return delay
