"""What the executor works out once per skill, so that a call does only the per-call work.

Everything here depends on the skill and the executor's policy and configuration, never on a
call's parameters: the policy's verdict, whether an approval is needed, the timeout, the
estimator (or the fixed price of the metadata fallback), the skill's configuration and how it is
called (inline, in a worker thread, or awaited). Pricing a call goes through here too, so that
whatever an estimator returns, the ledger only ever sees a valid, non-negative `Cost`.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from aos_core.budget.estimators import MetadataEstimator
from aos_core.contracts.cost import Cost, CostEstimate, CostWarning
from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.profile import Policy
from aos_core.contracts.protocols import EstimateContext, SkillError
from aos_core.contracts.skill import SideEffect
from aos_core.plugins.contributions import SkillEntry
from aos_core.policy import check_allowed, needs_approval, timeout_ms

__all__ = ["PreparedSkill", "prepare"]

_FALLBACK = MetadataEstimator()


class PreparedSkill:
    """One skill as one executor calls it."""

    __slots__ = (
        "approval",
        "config",
        "entry",
        "estimator",
        "execute",
        "fixed",
        "how",
        "meta",
        "name",
        "per_call_idempotency",
        "refusal",
        "safe_to_repeat",
        "timeout_s",
        "validate_input",
        "validate_output",
        "version",
        "writes",
    )

    def __init__(
        self,
        entry: SkillEntry,
        *,
        refusal: ErrorInfo | None,
        approval: bool,
        estimator: Any,
        config: Mapping[str, Any],
        timeout_s: float,
    ) -> None:
        meta = entry.declared
        self.entry = entry
        self.meta = meta
        self.name = meta.name
        self.version = meta.version
        self.refusal = refusal  # PERMISSION_DENIED when the policy forbids the skill
        self.approval = approval  # an approval must be asked before each call
        self.estimator = estimator  # a plugin estimator, or None when `fixed` is the price
        self.fixed = _FALLBACK.estimate(meta, {}) if estimator is None else None  # the same for every call
        self.config = config
        self.timeout_s = timeout_s
        # how it is called: awaited, in a worker thread (a timeout can abandon it), or inline
        self.how = "async" if entry.is_async else ("thread" if meta.blocking else "inline")
        self.execute = entry.skill.execute
        self.validate_input = entry.input_model.__pydantic_validator__.validate_python
        self.validate_output = entry.output_model.__pydantic_validator__.validate_python
        self.per_call_idempotency = getattr(entry.skill, "is_idempotent", None)
        # a call that changes nothing may always be repeated, whatever its idempotency
        self.safe_to_repeat = meta.side_effects in (SideEffect.NONE, SideEffect.READ)
        self.writes = not self.safe_to_repeat  # it may write (memory, say): WRITE or DESTRUCTIVE

    @property
    def estimator_name(self) -> str:
        return "metadata" if self.estimator is None else str(getattr(self.estimator, "name", "?"))

    def idempotent(self, model: Any) -> bool:
        """Whether repeating this very call is safe: the skill's per-call answer, else its metadata."""
        ask = self.per_call_idempotency
        if ask is None:
            return self.meta.idempotent
        try:
            return ask(model) is True
        except Exception:  # noqa: BLE001 - a skill that cannot tell is treated as not idempotent (the safe side)
            return False

    def estimate(self, params: Any, clock: Any) -> CostEstimate | ErrorInfo:
        """This call's price (a plugin estimator prices at `clock.now()`), or the error that refuses it."""
        if self.fixed is not None:
            return self.fixed
        estimator = self.estimator
        try:
            estimate = estimator.estimate(self.meta, params, EstimateContext(at=clock.now(), config=self.config))
        except SkillError as exc:  # the estimator refuses to price this call (e.g. an unknown model)
            return make_error(exc.code, exc.message, details={**exc.details, "stage": "estimate"})
        except Exception as exc:  # noqa: BLE001 - an estimator's crash refuses the call, spending nothing
            return self._estimator_failed(f"failed: {type(exc).__name__}: {exc}")
        if not isinstance(estimate, CostEstimate) or not _valid(estimate.worst):
            return self._estimator_failed(f"returned {_shown(estimate)}, not a CostEstimate with a valid worst case")
        return estimate

    def charge(
        self, params: Any, output: Any, worst: Cost, error: ErrorInfo | None, clock: Any
    ) -> tuple[Cost, CostWarning | None]:
        """What the call costs and any warning about it: the estimator's actual cost, or the
        reserved worst case when the estimator cannot price it (never negative, never None)."""
        if self.fixed is not None:
            return worst, None
        try:
            actual = self.estimator.actual(
                self.meta, params, output, EstimateContext(at=clock.now(), config=self.config, error=error)
            )
            problem = (
                None if isinstance(actual, Cost) and _valid(actual) else f"returned {_shown(actual)}, not a valid Cost"
            )
        except Exception as exc:  # noqa: BLE001 - an estimator that cannot price the call is charged its worst case
            problem = f"failed: {type(exc).__name__}: {exc}"
        if problem is not None:
            message = f"estimator {self.estimator_name}'s actual() {problem}; charged the reserved worst case"
            return worst, CostWarning(
                kind="unpriced", estimator=self.estimator_name, reserved=worst, charged=worst, message=message[:500]
            )
        if not actual.fits_within(worst):
            message = (
                f"estimator {self.estimator_name} priced {self.name} above the worst case it reserved; "
                "the actual cost counts"
            )
            return actual, CostWarning(
                kind="overrun", estimator=self.estimator_name, reserved=worst, charged=actual, message=message
            )
        return actual, None

    def _estimator_failed(self, what: str) -> ErrorInfo:
        return make_error(
            ErrorCode.SKILL_CRASHED,
            f"cost estimator {self.estimator_name} {what} for {self.name}",
            details={"stage": "estimate", "estimator": self.estimator_name},
        )


def _valid(cost: Cost) -> bool:
    """A `Cost` an estimator may have built without validation (`model_construct`) is checked here."""
    try:
        return (
            type(cost.money) is Decimal
            and cost.money.is_finite()
            and cost.money >= 0
            and min(cost.input_tokens, cost.output_tokens, cost.calls) >= 0
            and isinstance(cost.currency, str)
        )
    except (AttributeError, TypeError):
        return False


def _shown(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:80]}" if value is not None else "None"


def prepare(entry: SkillEntry, *, policy: Policy, estimator: Any, config: Mapping[str, Any]) -> PreparedSkill:
    """`entry` under `policy`, priced by `estimator` (None: the metadata's own price). The skill's
    optional `warm_up()` runs here, before any call is timed (a heavy import is not a call's
    duration); if it raises, every call fails with SKILL_CRASHED naming it."""
    meta = entry.declared
    refusal = check_allowed(policy, meta.name)
    warm_up = getattr(entry.skill, "warm_up", None)
    if refusal is None and callable(warm_up):
        try:
            warm_up()
        except Exception as exc:  # noqa: BLE001 - a skill that cannot get ready fails its calls, with the reason
            refusal = make_error(
                ErrorCode.SKILL_CRASHED,
                f"{meta.name}'s warm_up() failed: {type(exc).__name__}: {exc}",
                details={"stage": "warm_up", "exception_type": type(exc).__name__},
            )
    return PreparedSkill(
        entry,
        refusal=refusal,
        approval=needs_approval(policy, meta),
        estimator=estimator,
        config=config,
        timeout_s=timeout_ms(policy, meta) / 1000.0,
    )
