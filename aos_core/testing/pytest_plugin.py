"""The pytest plugin of aos-core (entry point `pytest11`): fixtures for plugin authors.

Loaded in every pytest session of an environment where aos-core is installed, so it imports
nothing heavy at module level and only defines fixtures:

- `aos_runtime_factory(plugin, ...)`: a `Runtime` holding only the plugin under test (plus the
  built-in defaults), seeded and on a virtual clock, closed after the test;
- `aos_clock`: the `VirtualClock` those runtimes use (`aos_clock.advance(5)` moves time);
- `aos_seed` (0; override the fixture to change it) and `aos_random`, a `random.Random` on it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from typing import Any

import pytest

__all__ = ["aos_clock", "aos_random", "aos_runtime_factory", "aos_seed"]


@pytest.fixture
def aos_seed() -> int:
    """The seed of the test's runtimes and of `aos_random`; override this fixture to change it."""
    return 0


@pytest.fixture
def aos_random(aos_seed: int) -> random.Random:
    """A `random.Random` seeded with `aos_seed`: the same draws on every run."""
    return random.Random(aos_seed)


@pytest.fixture
def aos_clock() -> Any:
    """A `VirtualClock` at 2026-01-01T00:00Z; it moves only when the test (or a retry's sleep) moves it."""
    from aos_core.execution.clock import VirtualClock

    return VirtualClock()


@pytest.fixture
def aos_runtime_factory(aos_clock: Any, aos_seed: int) -> Iterator[Callable[..., Any]]:
    """`aos_runtime_factory(plugin, *more, **runtime_options)` -> a `Runtime` holding only them.

    `plugin` is the plugin module or object, or its import path; a plugin that fails to load
    fails the test with the loader's reason. Keyword arguments go to `aos_core.testing.runtime_for`
    (skills=, config=, profile=, contract=, secrets=...). Every runtime is closed at teardown.
    """
    from aos_core.testing.loading import runtime_for

    made: list[Any] = []

    def factory(*plugins: Any, **options: Any) -> Any:
        options.setdefault("seed", aos_seed)
        options.setdefault("clock", aos_clock)
        runtime = runtime_for(*plugins, **options)
        made.append(runtime)
        return runtime

    yield factory
    for runtime in reversed(made):
        runtime.close()
