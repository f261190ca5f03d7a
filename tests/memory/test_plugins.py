"""Memory backends and embedders come through hooks, are validated at load, and are chosen by URL and name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from aos_core import hookimpl
from aos_core.execution.clock import VirtualClock
from aos_core.memory import MemoryBackend, memory_from_url
from aos_core.memory.urls import embedder_from_name
from aos_core.plugins import discover_plugins, load_plugins, object_sources


class ScratchProvider:
    """A backend for `scratch://`: SQLite in memory, as a plugin would wrap its own store."""

    name = "scratch"
    schemes = ("scratch",)

    def __init__(self) -> None:
        self.opened: list[str] = []

    def open(self, url: str, options: Mapping[str, Any]) -> MemoryBackend:
        from aos_core.memory.sqlite import SQLiteMemoryBackend

        self.opened.append(url)
        return SQLiteMemoryBackend(":memory:")


class Letters:
    name = "letters"
    dimensions = 26

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [[float(t.lower().count(chr(97 + i))) for i in range(26)] for t in texts]


class MemoryPlugin:
    __name__ = "memory-plugin"

    def __init__(self, *things: Any) -> None:
        self.things = things

    @hookimpl
    def aos_register_memory(self, register: Any) -> None:
        for thing in self.things:
            if hasattr(thing, "schemes") or not hasattr(thing, "embed"):
                register(thing)

    @hookimpl
    def aos_register_embedders(self, register: Any) -> None:
        for thing in self.things:
            if hasattr(thing, "embed"):
                register(thing)


def test_a_plugin_backend_serves_its_scheme_and_a_plugin_embedder_its_name() -> None:
    provider = ScratchProvider()
    registry = load_plugins(object_sources([MemoryPlugin(provider, Letters())]))
    assert registry.failed == []
    assert set(registry.memory_backends) == {"scratch"}
    assert registry.reports[0].memory_backends == ("scratch",) and registry.reports[0].embedders == ("letters",)
    providers = {scheme: ranked.obj for scheme, ranked in registry.memory_backends.items()}
    embedders = {name: ranked.obj for name, ranked in registry.embedders.items()}
    embedder = embedder_from_name("letters", embedders)
    with memory_from_url("scratch://anything", clock=VirtualClock(), providers=providers, embedder=embedder) as memory:
        memory.put(("n",), "k", "abc")
        assert [h.key for h in memory.search(("n",), query="cab")] == ["k"]
    assert provider.opened == ["scratch://anything"]


def test_aos_core_registers_its_own_backends_and_embedders_as_a_plugin() -> None:
    registry = discover_plugins(core_only=True)
    core = next(r for r in registry.reports if r.name == "core-memory")
    assert core.status == "loaded"
    assert core.memory_backends == ("sqlite", "postgresql") and core.embedders == ("hashing", "all-minilm-l6-v2")
    assert {"sqlite", "postgresql", "postgres"} <= set(registry.memory_backends)


class NoSchemes:
    name = "broken"
    schemes = ()

    def open(self, url: str, options: Any) -> Any: ...


class BadScheme:
    name = "broken"
    schemes = ("redis://",)

    def open(self, url: str, options: Any) -> Any: ...


class OpenTakesNothing:
    name = "broken"
    schemes = ("x",)

    def open(self) -> Any: ...


class NoDimensions:
    name = "broken"
    dimensions = 0

    def embed(self, texts: Sequence[str]) -> Any: ...


class BadCost:
    name = "broken"
    dimensions = 3
    cost = 0.01

    def embed(self, texts: Sequence[str]) -> Any: ...


@pytest.mark.parametrize(
    ("thing", "reason"),
    [
        (NoSchemes(), "memory backend 'broken' needs 'schemes', a tuple of URL schemes"),
        (BadScheme(), "memory backend 'broken' has the scheme 'redis://'"),
        (OpenTakesNothing(), "memory backend 'broken': open takes (); it must accept (url, options)"),
        (NoDimensions(), "embedder 'broken' needs 'dimensions', a positive int; found 0"),
        (BadCost(), "embedder 'broken' has a 'cost' that is not an EmbedderCost"),
    ],
)
def test_invalid_contributions_are_refused_with_the_reason(thing: Any, reason: str) -> None:
    registry = load_plugins(object_sources([MemoryPlugin(thing)]))
    assert [r.reason for r in registry.failed] == [reason] or reason in (registry.failed[0].reason or "")
    assert registry.memory_backends == {} and registry.embedders == {}


def test_an_unknown_embedder_lists_the_known_ones() -> None:
    from aos_core.memory import MemoryInputError

    with pytest.raises(MemoryInputError, match=r"no embedder 'nope' \(known: all-minilm-l6-v2, hashing\)"):
        embedder_from_name("nope")
