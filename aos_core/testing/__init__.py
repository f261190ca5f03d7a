"""Test helpers for AOS users and plugin authors: fakes, fixtures and the contract test-kit.

Public module, its names listed once in `__init__.pyi` and loaded on first use, so importing it
costs nothing; the generated examples of `check_skill_contract` and `aos_core.testing.strategies`
need hypothesis (the `aos-core[testing]` extra). The pytest fixtures (`aos_runtime_factory`, `aos_clock`, `aos_seed`,
`aos_random`) come with aos-core's pytest plugin, enabled by its `pytest11` entry point.
"""

from aos_core._lazy import attach

__getattr__, __dir__ = attach(__name__, __file__)
