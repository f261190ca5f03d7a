"""A replay compares what it computed with the recording, so it can fail: change one recorded
line of an exported trace and the replay reports NON_DETERMINISTIC at that step, naming the field
(the first release copied the recorded lines into the replayed trace, which always matched)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aos_core import ErrorCode, SkillError
from aos_core.testing import FakePlugin, fake_skill

from .conftest import chain_plan, make_skills


def canonical(record: Any) -> str:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def tampered(text: str, path: Path, change: Callable[[dict[str, Any]], bool]) -> Path:
    """The trace `text` with the first record `change` edits (it returns True when it did) rewritten."""
    lines, done = [], False
    for line in text.splitlines():
        record = json.loads(line)
        if not done and change(record):
            done = True
            lines.append(canonical(record))
        else:
            lines.append(line)
    assert done, "nothing was changed"
    path.write_text("\n".join(lines) + "\n", "utf-8")
    return path


def step(step_id: str, edit: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], bool]:
    def change(record: dict[str, Any]) -> bool:
        if record.get("kind") == "step" and record["id"] == step_id:
            edit(record)
            return True
        return False

    return change


def test_the_untouched_export_replays(runtime_factory: Any, tmp_path: Path) -> None:
    """The control: the exported trace as written replays and gives back its own sha256."""
    runtime = runtime_factory()
    result = runtime.run(chain_plan())
    text = runtime.trace(result.run_id).text()
    exported = tmp_path / "run.jsonl"
    exported.write_text(text, "utf-8")
    replay = runtime.replay(exported)
    assert replay.matched and replay.trace_sha256 == runtime.trace(result.run_id).sha256()


def test_a_changed_output_of_a_deterministic_step_diverges_there(runtime_factory: Any, tmp_path: Path) -> None:
    """A re-executed step whose recorded output was edited: the replay computes the real one and stops."""
    runtime = runtime_factory()
    result = runtime.run(chain_plan())

    def edit(record: dict[str, Any]) -> None:
        record["outcome"]["output"]["value"] = 99

    trace = tampered(runtime.trace(result.run_id).text(), tmp_path / "t.jsonl", step("first", edit))
    replay = runtime.replay(trace)
    assert not replay.matched and replay.error.code == ErrorCode.NON_DETERMINISTIC
    assert replay.divergence.step_id == "first"
    assert replay.divergence.recorded["output"]["value"] == 99 and replay.divergence.actual["output"]["value"] == 2


def test_a_changed_output_of_a_served_step_reaches_the_step_reading_it(runtime_factory: Any, tmp_path: Path) -> None:
    """A non-deterministic step's edited output is served as recorded; the step using it now gets other params."""
    runtime = runtime_factory()
    result = runtime.run(chain_plan())

    def edit(record: dict[str, Any]) -> None:
        record["outcome"]["output"]["items"][1]["n"] = 7

    trace = tampered(runtime.trace(result.run_id).text(), tmp_path / "t.jsonl", step("fetch", edit))
    replay = runtime.replay(trace)
    assert replay.divergence.step_id == "first"
    assert replay.divergence.recorded == {"x": 1} and replay.divergence.actual == {"x": 7}


def test_a_changed_cost_diverges_naming_the_field(runtime_factory: Any, tmp_path: Path) -> None:
    """The replay recomputes each outcome: an edited cost is found and its path named."""
    runtime = runtime_factory()
    result = runtime.run(chain_plan())

    def edit(record: dict[str, Any]) -> None:
        record["outcome"]["cost"]["calls"] = 2

    trace = tampered(runtime.trace(result.run_id).text(), tmp_path / "t.jsonl", step("second", edit))
    replay = runtime.replay(trace)
    assert replay.divergence.step_id == "second"
    assert "outcome.cost.calls" in replay.divergence.reason
    assert (replay.divergence.recorded, replay.divergence.actual) == (2, 1)


def test_a_changed_retry_delay_diverges_naming_the_field(tmp_path: Path, runtime_factory: Any) -> None:
    """Retry delays come from the seed: an edited `delay_ms` no longer matches the one the replay draws."""

    def flaky(params: Any, ctx: Any) -> dict[str, Any]:
        if ctx.attempt == 1:
            raise SkillError(ErrorCode.HTTP_5XX, "503 from upstream")
        return {"attempt": ctx.attempt}

    runtime = runtime_factory(plugins=[FakePlugin(skills=[fake_skill("flaky", flaky)])])
    result = runtime.run({"steps": [{"id": "flaky", "skill": "flaky", "params": {}}]})
    assert result.outcomes["flaky"].attempts == 2

    def edit(record: dict[str, Any]) -> None:
        record["attempts"][0]["delay_ms"] += 1

    trace = tampered(runtime.trace(result.run_id).text(), tmp_path / "t.jsonl", step("flaky", edit))
    replay = runtime.replay(trace)
    assert not replay.matched and replay.divergence.step_id == "flaky"
    assert "attempts[0].delay_ms" in replay.divergence.reason


def test_a_changed_final_state_diverges_at_the_end(runtime_factory: Any, tmp_path: Path) -> None:
    """The end record is rebuilt too: an edited final state is found."""
    runtime = runtime_factory()
    result = runtime.run(chain_plan())

    def edit(record: dict[str, Any]) -> bool:
        if record.get("kind") != "end":
            return False
        record["state"]["doubled_1"] = 3
        return True

    trace = tampered(runtime.trace(result.run_id).text(), tmp_path / "t.jsonl", edit)
    replay = runtime.replay(trace)
    assert not replay.matched and replay.divergence.step_id is None
    assert "state.doubled_1" in replay.divergence.reason


def test_a_step_missing_from_the_recording_diverges(runtime_factory: Any, tmp_path: Path) -> None:
    """A trace with a step line removed does not replay as if nothing happened."""
    runtime = runtime_factory()
    result = runtime.run(chain_plan())
    lines = [
        line
        for line in runtime.trace(result.run_id).text().splitlines()
        if not (json.loads(line)["kind"] == "step" and json.loads(line)["id"] == "label")
    ]
    trace = tmp_path / "t.jsonl"
    trace.write_text("\n".join(lines) + "\n", "utf-8")
    with_skills = runtime_factory(plugins=[FakePlugin(skills=list(make_skills().values()))])
    replay = with_skills.replay(trace)
    assert not replay.matched and replay.divergence.step_id == "label"
