"""Memory as state of a run: reads and writes recorded in the trace, replay serves them (issue 18)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from aos_core import ErrorCode, Runtime, SideEffect
from aos_core.testing import FakePlugin, VirtualClock, fake_skill


class Fact(BaseModel):
    topic: str
    text: str = ""


class Query(BaseModel):
    words: str = "rain"


def remember(params: Fact, ctx: Any) -> dict[str, Any]:
    ctx.memory.put(("notes", params.topic), "latest", {"text": params.text})
    return {"stored": params.topic}


def recall(params: Query, ctx: Any) -> dict[str, Any]:
    hits = ctx.memory.search(("notes",), query=params.words)
    return {"found": [hit.value["text"] for hit in hits]}


def summarise(params: Fact, ctx: Any) -> dict[str, Any]:
    item = ctx.memory.get(("notes", params.topic), "latest")
    return {"summary": None if item is None else item.value["text"].upper()}


def skills(query_words: str | None = None) -> list[Any]:
    def recall_with(params: Query, ctx: Any) -> dict[str, Any]:
        return recall(Query(words=query_words) if query_words else params, ctx)

    return [
        fake_skill("remember", remember, input_model=Fact, side_effects=SideEffect.WRITE, idempotent=True),
        fake_skill("recall", recall_with, input_model=Query, side_effects=SideEffect.READ),
        fake_skill("summarise", summarise, input_model=Fact, side_effects=SideEffect.READ),
    ]


PLAN = {
    "goal": "write, search, use",
    "steps": [
        {"id": "w", "skill": "remember", "params": {"topic": "weather", "text": "rain on tuesday"}},
        {"id": "s", "skill": "recall", "params": {"words": "rain"}, "depends_on": ["w"]},
        {"id": "u", "skill": "summarise", "params": {"topic": "weather"}, "depends_on": ["s"]},
    ],
}


def runtime(home: Path, **kwargs: Any) -> Runtime:
    return Runtime(
        plugins=[FakePlugin(skills=kwargs.pop("plugin_skills", None) or skills())],
        entry_points=False,
        store=home / "runs.sqlite3",
        memory=str(home / "memory.sqlite3"),
        clock=VirtualClock(),
        seed=5,
        **kwargs,
    )


def test_a_run_that_writes_searches_and_uses_memory_replays_without_the_store(tmp_path: Path) -> None:
    with runtime(tmp_path / "a") as rt:
        result = rt.run(PLAN)
        assert result.ok, result
        assert result.outcomes["s"].output == {"found": ["rain on tuesday"]}
        assert result.outcomes["u"].output == {"summary": "RAIN ON TUESDAY"}
        exported = rt.trace(result.run_id).text()
        rt.memory.put(("notes", "weather"), "latest", {"text": "sun all week"})  # the live store changes
        assert rt.replay(result.run_id).matched  # the replay reads the recording, not the store
    attempts = [json.loads(line) for line in exported.splitlines()[1:4]]
    assert [a["attempts"][0]["memory"][0]["op"] for a in attempts] == ["put", "search", "get"]
    trace_file = tmp_path / "run.jsonl"
    trace_file.write_text(exported)
    with runtime(tmp_path / "fresh") as elsewhere:  # another home, an empty memory store
        replay = elsewhere.replay(trace_file)
        assert replay.matched, replay.divergence
        assert replay.trace_sha256 is not None
        assert elsewhere.memory.get(("notes", "weather"), "latest") is None  # the replay wrote nothing


def test_a_skill_that_searches_with_another_query_diverges_at_its_step(tmp_path: Path) -> None:
    with runtime(tmp_path / "a") as rt:
        result = rt.run(PLAN)
        trace = rt.trace(result.run_id)
    with runtime(tmp_path / "b", plugin_skills=skills(query_words="tuesday")) as changed:
        replay = changed.replay(trace)
    assert not replay.matched and replay.divergence is not None
    assert replay.divergence.step_id == "s" and "asked memory search" in replay.divergence.reason


def test_the_writes_of_a_failed_attempt_are_not_applied(tmp_path: Path) -> None:
    def writes_then_fails(params: Fact, ctx: Any) -> dict[str, Any]:
        ctx.memory.put(("notes", params.topic), "latest", {"text": params.text})
        assert ctx.memory.get(("notes", params.topic), "latest").value == {"text": params.text}  # its own write
        raise RuntimeError("broke after writing")

    skill = fake_skill("flaky", writes_then_fails, input_model=Fact, side_effects=SideEffect.WRITE)
    with runtime(tmp_path, plugin_skills=[skill]) as rt:
        outcome = rt.execute("flaky", {"topic": "t", "text": "never"})
        assert outcome.error is not None and outcome.error.code == ErrorCode.SKILL_CRASHED
        assert rt.memory.get(("notes", "t"), "latest") is None


@pytest.mark.parametrize("effects", [SideEffect.NONE, SideEffect.READ])
def test_a_skill_that_declares_no_writes_may_not_write_memory(tmp_path: Path, effects: SideEffect) -> None:
    sneaky = fake_skill("sneaky", remember, input_model=Fact, side_effects=effects)
    with runtime(tmp_path, plugin_skills=[sneaky]) as rt:
        outcome = rt.execute("sneaky", {"topic": "t", "text": "x"})
        assert outcome.error is not None and outcome.error.code == ErrorCode.POLICY_VIOLATION
        assert rt.memory.get(("notes", "t"), "latest") is None
