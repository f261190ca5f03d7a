"""Test helpers for AOS users and plugin authors: fakes, fixtures and the contract test-kit.

Public module. Names are loaded on first use, so importing it costs nothing; the generated
examples of `check_skill_contract` and `aos_core.testing.strategies` need hypothesis (the
`aos-core[testing]` extra). The pytest fixtures (`aos_runtime_factory`, `aos_clock`, `aos_seed`,
`aos_random`) come with aos-core's pytest plugin, enabled by its `pytest11` entry point.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "ContractReport": "aos_core.testing.conformance",
    "ContractViolation": "aos_core.testing.loading",
    "FakeInput": "aos_core.testing.fakes",
    "FakeOutput": "aos_core.testing.fakes",
    "FakePlugin": "aos_core.testing.fakes",
    "FakeSkill": "aos_core.testing.fakes",
    "FixedClock": "aos_core.execution.clock",
    "MessagesAPIServer": "aos_core.testing.messages_api",
    "RUNTIME_CODES": "aos_core.testing.conformance",
    "ScriptedPlanner": "aos_core.testing.fakes",
    "SkillReport": "aos_core.testing.conformance",
    "VirtualClock": "aos_core.execution.clock",
    "check_plugin": "aos_core.testing.loading",
    "check_skill_contract": "aos_core.testing.conformance",
    "fake_skill": "aos_core.testing.fakes",
    "load_plugin": "aos_core.testing.loading",
    "runtime_for": "aos_core.testing.loading",
    "seeded_random": "aos_core.execution.seeds",
}
# Another name for the same class: a clock that stands still until a test moves it.
_ALIASES = {"FixedClock": "VirtualClock"}

__all__ = [
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
]

if TYPE_CHECKING:
    from aos_core.execution.clock import VirtualClock
    from aos_core.execution.clock import VirtualClock as FixedClock
    from aos_core.execution.seeds import seeded_random
    from aos_core.testing.conformance import RUNTIME_CODES, ContractReport, SkillReport, check_skill_contract
    from aos_core.testing.fakes import FakeInput, FakeOutput, FakePlugin, FakeSkill, ScriptedPlanner, fake_skill
    from aos_core.testing.loading import ContractViolation, check_plugin, load_plugin, runtime_for
    from aos_core.testing.messages_api import MessagesAPIServer


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'aos_core.testing' has no attribute {name!r}")
    value = getattr(import_module(module), _ALIASES.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
