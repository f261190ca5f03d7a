"""Contracts: the pydantic models and data every other layer speaks.

Import each name from its module (`aos_core.contracts.skill`, ...): importing one contract module
(say the one plugin discovery needs) then builds no other model. The public names are exported
from `aos_core`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["schema_models"]


def schema_models() -> dict[str, Any]:
    """The models whose JSON Schema `aos schema NAME` prints, by name."""
    from aos_core.contracts.cost import Cost
    from aos_core.contracts.errors import ErrorInfo
    from aos_core.contracts.outcome import StructuredOutcome
    from aos_core.contracts.plan import Plan
    from aos_core.contracts.profile import AgentProfile
    from aos_core.contracts.resources import ResourceContract
    from aos_core.contracts.skill import SkillMetadata

    models = (StructuredOutcome, ErrorInfo, SkillMetadata, ResourceContract, AgentProfile, Plan, Cost)
    return {model.__name__: model for model in models}
