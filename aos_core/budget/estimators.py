"""The fallback cost estimator: a skill's own `CostModel`, one call at its declared price."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aos_core.contracts.cost import Cost, CostEstimate
from aos_core.contracts.protocols import EstimateContext
from aos_core.contracts.skill import SkillMetadata

__all__ = ["MetadataEstimator"]


class MetadataEstimator:
    """Prices every call at `metadata.cost.money_per_call`, one call, no tokens."""

    name = "metadata"

    def __init__(self) -> None:
        self._cache: dict[str, tuple[CostEstimate, Cost]] = {}

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
        cached = self._cache.get(skill.name)
        if cached is None:
            cost = Cost(calls=1, money=skill.cost.money_per_call, currency=skill.cost.currency)
            cached = (CostEstimate.exactly(cost, skill.expected_latency_ms), cost)
            self._cache[skill.name] = cached
        return cached
