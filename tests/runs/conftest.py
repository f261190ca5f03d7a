"""Fake skills for run, replay and simulation tests, and a runtime factory with its own store."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from aos_core import AgentProfile, Policy, ResourceContract, RetryPolicy, Runtime, SideEffect
from aos_core.testing.fakes import FakePlugin, fake_skill


class Number(BaseModel):
    x: int


class Doubled(BaseModel):
    value: int
    noise: float
    at: str


class Query(BaseModel):
    q: str = ""


class Document(BaseModel):
    items: list[dict[str, Any]]
    source: str


def double(params: Number, ctx: Any) -> Doubled:
    """Deterministic given the run's recorded clock and seeded random source."""
    ctx.state.set(f"doubled_{params.x}", params.x * 2)
    return Doubled(value=params.x * 2, noise=ctx.random.random(), at=ctx.clock.now().isoformat())


def make_skills() -> dict[str, Any]:
    fetch_counter = {"n": 0}

    def fetch(params: Query, ctx: Any) -> Document:
        fetch_counter["n"] += 1
        return Document(items=[{"name": "a", "n": 1}, {"name": "b", "n": fetch_counter["n"]}], source=params.q)

    return {
        "double": fake_skill("double", double, input_model=Number, output_model=Doubled),
        "fetch": fake_skill(
            "fetch",
            fetch,
            input_model=Query,
            output_model=Document,
            deterministic=False,
            network=True,
            side_effects=SideEffect.READ,
            expected_latency_ms=100.0,
            cost={"money_per_call": "0.002"},
        ),
        "pick": fake_skill("pick", lambda p, ctx: {"picked": p.model_dump()}, expected_latency_ms=5.0),
    }


@pytest.fixture
def skills() -> dict[str, Any]:
    return make_skills()


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store" / "runs.sqlite3"


@pytest.fixture
def runtime_factory(skills: dict[str, Any], store_path: Path) -> Iterator[Callable[..., Runtime]]:
    made: list[Runtime] = []

    def build(*, policy: Policy | None = None, contract: ResourceContract | None = None, **kwargs: Any) -> Runtime:
        profile = AgentProfile(
            policy=policy or Policy(retry=RetryPolicy(base_delay_ms=1, max_delay_ms=2)),
            contract=contract or ResourceContract(),
        )
        kwargs.setdefault("seed", 42)
        kwargs.setdefault("store", store_path)
        plugins = kwargs.pop("plugins", [FakePlugin(skills=list(skills.values()))])
        runtime = Runtime(profile=profile, plugins=plugins, entry_points=False, **kwargs)
        made.append(runtime)
        return runtime

    yield build
    for runtime in made:
        runtime.close()


def chain_plan() -> dict[str, Any]:
    return {
        "version": 1,
        "goal": "fetch, pick, double",
        "steps": [
            {"id": "fetch", "skill": "fetch", "params": {"q": "inventory"}},
            {"id": "first", "skill": "double", "params": {"x": "${steps.fetch.output.items[1].n}"}},
            {"id": "second", "skill": "double", "params": {"x": "${steps.first.output.value}"}},
            {"id": "label", "skill": "pick", "params": {"text": "value=${steps.second.output.value}"}},
        ],
    }


def interrupt(
    runtime: Runtime,
    plan: dict[str, Any] | None,
    in_flight: threading.Event | Callable[[], bool],
    resume: str | None = None,
) -> str:
    """Run `plan` (or resume run `resume`) and interrupt it the way Ctrl-C does (its task is
    cancelled) once `in_flight` is set (or returns True): a skill has started and is waiting.
    The id of the interrupted run."""
    ready = in_flight.is_set if isinstance(in_flight, threading.Event) else in_flight

    async def main() -> None:
        task = asyncio.ensure_future(runtime.arun(plan, resume=resume))
        while not ready():
            assert not task.done(), f"the run ended before the skill it was to be interrupted in: {task.result()}"
            await asyncio.sleep(0.001)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    asyncio.run(main())
    return resume or runtime.runs(1)[0].run_id
