"""The fallback cost estimator: a skill's own `CostModel`, one call at its declared price."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aos_core.contracts.cost import Cost, CostEstimate
from aos_core.contracts.protocols import EstimateContext
from aos_core.contracts.skill import SkillMetadata
from aos_core.plugins.explain import reraise_if_interrupt
from aos_core.plugins.loader import Registry

__all__ = ["MetadataEstimator", "choose_estimators"]


class MetadataEstimator:
    """Prices every call at `metadata.cost.money_per_call`, one call, no tokens."""

    name = "metadata"

    def __init__(self) -> None:
        # keyed by the price itself, not the skill name: two runtimes may load different skills of one name
        self._cache: dict[tuple[Any, ...], tuple[CostEstimate, Cost]] = {}

    def covers(self, skill: SkillMetadata) -> bool:
        return True

    def estimate(
        self, skill: SkillMetadata, params: Mapping[str, Any], ctx: EstimateContext | None = None
    ) -> CostEstimate:
        return self._priced(skill)[0]

    def actual(
        self,
        skill: SkillMetadata,
        params: Mapping[str, Any],
        output: Mapping[str, Any] | None,
        ctx: EstimateContext | None = None,
    ) -> Cost:
        return self._priced(skill)[1]

    def _priced(self, skill: SkillMetadata) -> tuple[CostEstimate, Cost]:
        model = skill.cost
        key = (model.money_per_call, model.currency, skill.expected_latency_ms)
        cached = self._cache.get(key)
        if cached is None:
            cost = Cost(calls=1, money=skill.cost.money_per_call, currency=skill.cost.currency)
            cached = (CostEstimate.exactly(cost, skill.expected_latency_ms), cost)
            self._cache[key] = cached
        return cached


def choose_estimators(registry: Registry) -> dict[str, Any]:
    """For each skill, the highest-priority estimator that covers it (chosen once, at load)."""
    chosen: dict[str, Any] = {}
    for name, entry in registry.skills.items():
        for ranked in registry.estimators:
            try:
                covers = ranked.obj.covers(entry.declared) is True
            except BaseException as exc:  # noqa: BLE001 - one that cannot answer (even by sys.exit) does not cover it
                reraise_if_interrupt(exc)
                covers = False
            if covers:
                chosen[name] = ranked.obj
                break
    return chosen
