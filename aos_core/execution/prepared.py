"""What the executor works out once per skill, so that a call does only the per-call work.

Everything here depends on the skill and the executor's policy, contract and configuration,
never on a call's parameters: the policy's verdict, whether an approval is needed, the
timeout, the rate-limit bucket, the estimator (or the fixed price of the metadata fallback),
the skill's configuration and how it is called (inline, in a worker thread, or awaited).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from aos_core.budget.estimators import MetadataEstimator
from aos_core.budget.ratelimit import TokenBucket
from aos_core.contracts.cost import Cost, CostEstimate
from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.profile import Policy
from aos_core.contracts.protocols import EstimateContext, SkillError
from aos_core.plugins.contributions import SkillEntry
from aos_core.policy import check_allowed, needs_approval, timeout_ms

__all__ = ["PreparedSkill", "prepare"]

_FALLBACK = MetadataEstimator()


class PreparedSkill:
    """One skill as one executor calls it."""

    __slots__ = (
        "approval",
        "bucket",
        "config",
        "direct",
        "entry",
        "estimator",
        "execute",
        "fixed",
        "inline",
        "meta",
        "name",
        "refusal",
        "timeout_s",
        "validate_input",
        "version",
    )

    def __init__(
        self,
        entry: SkillEntry,
        *,
        refusal: ErrorInfo | None,
        approval: bool,
        estimator: Any,
        fixed: CostEstimate | None,
        config: Mapping[str, Any],
        timeout_s: float,
        bucket: TokenBucket | None,
    ) -> None:
        meta = entry.metadata
        self.entry = entry
        self.meta = meta
        self.name = meta.name
        self.version = meta.version
        self.refusal = refusal  # PERMISSION_DENIED when the policy forbids the skill
        self.approval = approval  # an approval must be asked before each call
        self.estimator = estimator  # a plugin estimator, or None when `fixed` is the price
        self.fixed = fixed  # the metadata fallback's estimate: the same for every call
        self.config = config
        self.timeout_s = timeout_s
        self.bucket = bucket
        self.inline = not entry.is_async and not meta.blocking  # called on the caller's thread
        self.direct = self.inline and not approval and bucket is None  # nothing can make a call wait
        self.execute = entry.skill.execute
        self.validate_input = entry.input_model.__pydantic_validator__.validate_python

    def estimate(self, params: Any, at: datetime) -> CostEstimate | ErrorInfo:
        """The plugin estimator's price for this call, or the error that refuses it."""
        estimator = self.estimator
        try:
            estimate: CostEstimate = estimator.estimate(self.meta, params, EstimateContext(at=at, config=self.config))
            return estimate
        except SkillError as exc:  # the estimator refuses to price this call (e.g. an unknown model)
            return make_error(exc.code, exc.message, details={**exc.details, "stage": "estimate"})
        except Exception as exc:  # noqa: BLE001 - an estimator's crash refuses the call, spending nothing
            return make_error(
                ErrorCode.SKILL_CRASHED,
                f"cost estimator {getattr(estimator, 'name', '?')} failed for {self.name}: {type(exc).__name__}: {exc}",
                details={"stage": "estimate"},
            )

    def actual(self, params: Any, output: Any, worst: Cost, error: ErrorInfo | None, at: datetime) -> Cost:
        """What the call cost, by the plugin estimator; its worst case when the estimator fails."""
        try:
            ctx = EstimateContext(at=at, config=self.config, error=error)
            cost: Cost = self.estimator.actual(self.meta, params, output, ctx)
            return cost
        except Exception:  # noqa: BLE001 - an estimator that cannot price the call is charged its worst case
            return worst


def prepare(
    entry: SkillEntry,
    *,
    policy: Policy,
    estimator: Any,
    config: Mapping[str, Any],
    bucket: TokenBucket | None,
) -> PreparedSkill:
    """`entry` under `policy`, priced by `estimator` (None: the metadata's own price)."""
    meta = entry.metadata
    return PreparedSkill(
        entry,
        refusal=check_allowed(policy, meta.name),
        approval=needs_approval(policy, meta),
        estimator=estimator,
        fixed=_FALLBACK.estimate(meta, {}) if estimator is None else None,
        config=config,
        timeout_s=timeout_ms(policy, meta) / 1000.0,
        bucket=bucket,
    )
