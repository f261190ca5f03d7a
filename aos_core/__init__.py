"""AOS: a deterministic, budgeted, replayable runtime for machine-native agents.

The public API is re-exported here. Names are loaded on first use so that `aos --help` and
plugin discovery stay cheap; `__all__` is pinned by a test.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    "AgentProfile": "aos_core.contracts.profile",
    "ApprovalRequest": "aos_core.policy",
    "CatalogEntry": "aos_core.contracts.errors",
    "Classification": "aos_core.contracts.protocols",
    "Cost": "aos_core.contracts.cost",
    "CostEstimate": "aos_core.contracts.cost",
    "CostEstimator": "aos_core.contracts.protocols",
    "CostModel": "aos_core.contracts.cost",
    "Embedder": "aos_core.memory.embedders",
    "EmbedderCost": "aos_core.memory.embedders",
    "ErrorCategory": "aos_core.contracts.errors",
    "ErrorCode": "aos_core.contracts.errors",
    "ErrorInfo": "aos_core.contracts.errors",
    "EstimateContext": "aos_core.contracts.protocols",
    "FailureClassifier": "aos_core.contracts.protocols",
    "HashingEmbedder": "aos_core.memory.embedders",
    "Memory": "aos_core.memory.store",
    "MemoryBackend": "aos_core.memory.backend",
    "MemoryInputError": "aos_core.memory.errors",
    "MemoryItem": "aos_core.memory.models",
    "MemoryRow": "aos_core.memory.backend",
    "MemoryStoreError": "aos_core.memory.errors",
    "MemoryUnavailable": "aos_core.memory.errors",
    "NetworkPolicy": "aos_core.contracts.profile",
    "Plan": "aos_core.contracts.plan",
    "PlanProblem": "aos_core.contracts.plan",
    "PlanRequest": "aos_core.contracts.protocols",
    "PlanResult": "aos_core.contracts.plan",
    "PlanStep": "aos_core.contracts.plan",
    "Planner": "aos_core.contracts.protocols",
    "PlannerContext": "aos_core.contracts.protocols",
    "PluginReport": "aos_core.plugins.reports",
    "Policy": "aos_core.contracts.profile",
    "RateLimit": "aos_core.contracts.resources",
    "ResourceContract": "aos_core.contracts.resources",
    "RetryPolicy": "aos_core.contracts.profile",
    "Runtime": "aos_core.runtime",
    "RuntimeConfig": "aos_core.contracts.config",
    "SearchHit": "aos_core.memory.models",
    "SideEffect": "aos_core.contracts.skill",
    "Skill": "aos_core.contracts.protocols",
    "SkillContext": "aos_core.contracts.protocols",
    "SkillError": "aos_core.contracts.protocols",
    "SkillMetadata": "aos_core.contracts.skill",
    "StructuredOutcome": "aos_core.contracts.outcome",
    "UnknownSkill": "aos_core.runtime",
    "VectorQuery": "aos_core.memory.backend",
    "failure_catalog": "aos_core.contracts.errors",
    "hookimpl": "aos_core.hookspecs",
    "make_error": "aos_core.contracts.errors",
    "memory_from_url": "aos_core.memory.urls",
}

__all__ = [
    "AgentProfile",
    "ApprovalRequest",
    "CatalogEntry",
    "Classification",
    "Cost",
    "CostEstimate",
    "CostEstimator",
    "CostModel",
    "Embedder",
    "EmbedderCost",
    "ErrorCategory",
    "ErrorCode",
    "ErrorInfo",
    "EstimateContext",
    "FailureClassifier",
    "HashingEmbedder",
    "Memory",
    "MemoryBackend",
    "MemoryInputError",
    "MemoryItem",
    "MemoryRow",
    "MemoryStoreError",
    "MemoryUnavailable",
    "NetworkPolicy",
    "Plan",
    "PlanProblem",
    "PlanRequest",
    "PlanResult",
    "PlanStep",
    "Planner",
    "PlannerContext",
    "PluginReport",
    "Policy",
    "RateLimit",
    "ResourceContract",
    "RetryPolicy",
    "Runtime",
    "RuntimeConfig",
    "SearchHit",
    "SideEffect",
    "Skill",
    "SkillContext",
    "SkillError",
    "SkillMetadata",
    "StructuredOutcome",
    "UnknownSkill",
    "VectorQuery",
    "__version__",
    "failure_catalog",
    "hookimpl",
    "make_error",
    "memory_from_url",
]

if TYPE_CHECKING:
    from aos_core.contracts.config import RuntimeConfig
    from aos_core.contracts.cost import Cost, CostEstimate, CostModel
    from aos_core.contracts.errors import (
        CatalogEntry,
        ErrorCategory,
        ErrorCode,
        ErrorInfo,
        failure_catalog,
        make_error,
    )
    from aos_core.contracts.outcome import StructuredOutcome
    from aos_core.contracts.plan import Plan, PlanProblem, PlanResult, PlanStep
    from aos_core.contracts.profile import AgentProfile, NetworkPolicy, Policy, RetryPolicy
    from aos_core.contracts.protocols import (
        Classification,
        CostEstimator,
        EstimateContext,
        FailureClassifier,
        Planner,
        PlannerContext,
        PlanRequest,
        Skill,
        SkillContext,
        SkillError,
    )
    from aos_core.contracts.resources import RateLimit, ResourceContract
    from aos_core.contracts.skill import SideEffect, SkillMetadata
    from aos_core.hookspecs import hookimpl
    from aos_core.memory.backend import MemoryBackend, MemoryRow, VectorQuery
    from aos_core.memory.embedders import Embedder, EmbedderCost, HashingEmbedder
    from aos_core.memory.errors import MemoryInputError, MemoryStoreError, MemoryUnavailable
    from aos_core.memory.models import MemoryItem, SearchHit
    from aos_core.memory.store import Memory
    from aos_core.memory.urls import memory_from_url
    from aos_core.plugins.reports import PluginReport
    from aos_core.policy import ApprovalRequest
    from aos_core.runtime import Runtime, UnknownSkill


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aos_core' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
