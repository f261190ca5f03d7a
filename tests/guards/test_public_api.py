"""The public API is pinned: adding or removing a public name is a deliberate change here and in docs/.

Public modules: `aos_core`, `aos_core.hookspecs`, `aos_core.testing`, and each skill or plugin
package. Everything else is private (PRODUCT.md, "Interfaces pinned").
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import types
import typing
from typing import Any

import pydantic
import pytest

PINNED: dict[str, list[str]] = {
    "aos_core": [
        "AOSError",
        "AgentProfile",
        "ApprovalRequest",
        "Cancellation",
        "CatalogEntry",
        "Classification",
        "Clock",
        "Cost",
        "CostEstimate",
        "CostEstimator",
        "CostModel",
        "CostWarning",
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
        "ObservabilityUnavailable",
        "Plan",
        "PlanProblem",
        "PlanRequest",
        "PlanResult",
        "PlanStep",
        "Planner",
        "PlannerContext",
        "PluginReport",
        "Policy",
        "PostgresTransactions",
        "PreflightContext",
        "RateLimit",
        "ReplayResult",
        "ResourceContract",
        "RetryPolicy",
        "RunBusy",
        "RunNotFinished",
        "RunNotFound",
        "RunResult",
        "RunSummary",
        "Runtime",
        "RuntimeConfig",
        "SearchHit",
        "SideEffect",
        "SimulationReport",
        "Skill",
        "SkillContext",
        "SkillError",
        "SkillMetadata",
        "StoreError",
        "StructuredOutcome",
        "TraceError",
        "UnknownSkill",
        "VectorQuery",
        "__version__",
        "configure_logging",
        "failure_catalog",
        "hookimpl",
        "make_error",
        "mark_process_dead",
        "memory_from_url",
        "render_metrics",
        "sqlite_reading",
        "sqlite_writing",
        "start_metrics_server",
        "worker_heartbeat",
    ],
    "aos_core.hookspecs": ["PROJECT_NAME", "Register", "hookimpl", "hookspec"],
    "aos_core.testing": [
        "ContractReport",
        "ContractViolation",
        "FakeInput",
        "FakeOutput",
        "FakePlugin",
        "FakeSkill",
        "FixedClock",
        "MessagesAPIServer",
        "RUNTIME_CODES",
        "ScriptedPlanner",
        "SkillReport",
        "VirtualClock",
        "check_plugin",
        "check_skill_contract",
        "fake_skill",
        "load_plugin",
        "runtime_for",
        "seeded_random",
    ],
    "aos_skill_http": ["HttpCall", "HttpCallInput", "HttpCallOutput", "__version__"],
    "aos_skill_json": ["JsonTransform", "JsonTransformInput", "JsonTransformOutput", "__version__"],
    "aos_skill_llm": [
        "AnthropicEstimator",
        "ClaudePlanner",
        "DEFAULT_MODEL",
        "LlmInvoke",
        "LlmInvokeInput",
        "LlmInvokeOutput",
        "Message",
        "UnknownModelPrice",
        "Usage",
        "__version__",
    ],
    "aos_plugin_files": ["FilesClassifier", "ReadFile", "ReadFileInput", "ReadFileOutput", "__version__"],
    "aos_server": ["__version__"],
}

HOOKS = [
    "aos_register_classifiers",
    "aos_register_commands",
    "aos_register_embedders",
    "aos_register_estimators",
    "aos_register_memory",
    "aos_register_planners",
    "aos_register_skills",
]

# Public models that are deliberately mutable, each with its reason. Empty: every value is frozen.
NOT_FROZEN: dict[str, str] = {}


@pytest.mark.parametrize("module_name", PINNED)
def test_all_is_pinned(module_name: str) -> None:
    """`__all__` is exactly the pinned list, with no duplicates."""
    exported = importlib.import_module(module_name).__all__
    assert len(exported) == len(set(exported)), f"{module_name}.__all__ repeats a name"
    assert sorted(exported) == PINNED[module_name]


@pytest.mark.parametrize("module_name", PINNED)
def test_every_exported_name_resolves(module_name: str) -> None:
    """Each name in `__all__` can be imported (the lazy re-exports point at real objects)."""
    module = importlib.import_module(module_name)
    for name in module.__all__:
        assert getattr(module, name) is not None, f"{module_name}.{name}"


def test_hook_specs_are_pinned() -> None:
    """The hook specs are the whole plugin API: five hooks, no more, no fewer."""
    hookspecs = importlib.import_module("aos_core.hookspecs")
    specs = sorted(name for name, obj in vars(hookspecs).items() if hasattr(obj, f"{hookspecs.PROJECT_NAME}_spec"))
    assert specs == HOOKS


def test_unknown_public_name_is_an_attribute_error() -> None:
    """The lazy `__getattr__` refuses names it does not export, as a module should."""
    import aos_core

    with pytest.raises(AttributeError):
        aos_core.NoSuchName  # noqa: B018


def _reachable_values() -> dict[str, type]:
    """Pydantic models and dataclasses exported by aos_core, and the models their fields hold."""
    import aos_core

    found: dict[str, type] = {}
    pending: list[Any] = [getattr(aos_core, name) for name in aos_core.__all__]
    while pending:
        obj = pending.pop()
        if typing.get_origin(obj) is not None or isinstance(obj, types.UnionType):
            pending.extend(typing.get_args(obj))
            continue
        if not inspect.isclass(obj) or obj.__qualname__ in found:
            continue
        if issubclass(obj, pydantic.BaseModel):
            found[obj.__qualname__] = obj
            pending.extend(field.annotation for field in obj.model_fields.values())
        elif dataclasses.is_dataclass(obj):
            found[obj.__qualname__] = obj
    return found


def _is_frozen(cls: type) -> bool:
    if issubclass(cls, pydantic.BaseModel):
        return cls.model_config.get("frozen") is True
    return bool(cls.__dataclass_params__.frozen)  # type: ignore[attr-defined]


def test_public_value_models_are_frozen() -> None:
    """Every public pydantic model or dataclass, and every model inside one, is immutable."""
    values = _reachable_values()
    assert "StructuredOutcome" in values and "ErrorInfo" in values  # the walk found the contracts
    mutable = sorted(name for name, cls in values.items() if not _is_frozen(cls) and name not in NOT_FROZEN)
    assert not mutable, f"freeze these (model_config frozen=True / @dataclass(frozen=True)): {mutable}"
    stale = sorted(set(NOT_FROZEN) - {name for name, cls in values.items() if not _is_frozen(cls)})
    assert not stale, f"remove from NOT_FROZEN (frozen now, or no longer public): {stale}"


def test_frozen_check_catches_a_mutable_model() -> None:
    """The check itself works on a deliberately mutable model."""

    class Mutable(pydantic.BaseModel):
        value: int

    class Frozen(pydantic.BaseModel):
        model_config = pydantic.ConfigDict(frozen=True)
        value: int

    assert not _is_frozen(Mutable)
    assert _is_frozen(Frozen)
