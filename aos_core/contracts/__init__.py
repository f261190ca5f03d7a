"""Contracts: the pydantic models and data every other layer speaks."""

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
    "SideEffect",
    "SkillMetadata",
    "StructuredOutcome",
    "catalog_entry",
    "failure_catalog",
    "format_money",
    "make_error",
    "to_decimal",
]

# JSON Schemas exported by `aos schema NAME`.
SCHEMA_MODELS = {
    "StructuredOutcome": StructuredOutcome,
    "ErrorInfo": ErrorInfo,
    "SkillMetadata": SkillMetadata,
    "ResourceContract": ResourceContract,
    "AgentProfile": AgentProfile,
    "Plan": Plan,
    "Cost": Cost,
}
