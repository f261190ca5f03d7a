"""Contracts: the pydantic models and data every other layer speaks.

Names are loaded on first use: importing one contract module (say `contracts.skill`, which
plugin discovery needs) does not build every other model.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "AgentProfile": "profile",
    "CatalogEntry": "errors",
    "Cost": "cost",
    "CostEstimate": "cost",
    "CostModel": "cost",
    "ErrorCategory": "errors",
    "ErrorCode": "errors",
    "ErrorInfo": "errors",
    "Money": "money",
    "NetworkPolicy": "profile",
    "Plan": "plan",
    "PlanStep": "plan",
    "Policy": "profile",
    "RateLimit": "resources",
    "ResourceContract": "resources",
    "RetryPolicy": "profile",
    "SideEffect": "skill",
    "SkillMetadata": "skill",
    "StructuredOutcome": "outcome",
    "catalog_entry": "errors",
    "failure_catalog": "errors",
    "format_money": "money",
    "make_error": "errors",
    "to_decimal": "money",
}

__all__ = [
    "AgentProfile",
    "CatalogEntry",
    "Cost",
    "CostEstimate",
    "CostModel",
    "ErrorCategory",
    "ErrorCode",
    "ErrorInfo",
    "Money",
    "NetworkPolicy",
    "Plan",
    "PlanStep",
    "Policy",
    "RateLimit",
    "ResourceContract",
    "RetryPolicy",
    "SCHEMA_MODELS",
    "SideEffect",
    "SkillMetadata",
    "StructuredOutcome",
    "catalog_entry",
    "failure_catalog",
    "format_money",
    "make_error",
    "to_decimal",
]

# JSON Schemas exported by `aos schema NAME`: name -> the contract that holds the model.
_SCHEMA_MODELS = ("StructuredOutcome", "ErrorInfo", "SkillMetadata", "ResourceContract", "AgentProfile", "Plan", "Cost")


def __getattr__(name: str) -> Any:
    if name == "SCHEMA_MODELS":
        return {model: __getattr__(model) for model in _SCHEMA_MODELS}
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aos_core.contracts' has no attribute {name!r}")
    value = getattr(import_module(f"aos_core.contracts.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


if TYPE_CHECKING:
    from aos_core.contracts.cost import Cost, CostEstimate, CostModel
    from aos_core.contracts.errors import (
        CatalogEntry,
        ErrorCategory,
        ErrorCode,
        ErrorInfo,
        catalog_entry,
        failure_catalog,
        make_error,
    )
    from aos_core.contracts.money import Money, format_money, to_decimal
    from aos_core.contracts.outcome import StructuredOutcome
    from aos_core.contracts.plan import Plan, PlanStep
    from aos_core.contracts.profile import AgentProfile, NetworkPolicy, Policy, RetryPolicy
    from aos_core.contracts.resources import RateLimit, ResourceContract
    from aos_core.contracts.skill import SideEffect, SkillMetadata

    SCHEMA_MODELS: dict[str, Any]
