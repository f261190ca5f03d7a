"""A replay of a stored run reads the recorded step lines as it reaches them and drops each once
compared, on SQLite and PostgreSQL; a recording changed in the store still diverges where it was
changed: a step line removed, a line edited, a step the plan does not have, a step the replay skips."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from postgres import fresh_schema_url, require_postgres

from aos_core import AgentProfile, Policy, Runtime
from aos_core.runs.replay import RecordedLines
from aos_core.testing import FakePlugin, fake_skill

STEPS = 1_200


def plan(steps: int = STEPS) -> dict[str, Any]:
    """Echo steps; the first waits for the last (listed out of dependency order), so one line is
    asked for far ahead of the others."""
    body = [{"id": f"s{i}", "skill": "echo", "params": {"text": f"t{i}"}} for i in range(steps)]
    body[0]["depends_on"] = [f"s{steps - 1}"]
    return {"version": 1, "steps": body}


@pytest.fixture(params=["sqlite", "postgresql"])
def runtime(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Runtime]:
    store: str | Path = tmp_path / "runs.sqlite3"
    if request.param == "postgresql":
        require_postgres()
        store = fresh_schema_url()
    rt = Runtime(plugins=[FakePlugin(skills=[fake_skill("echo")])], entry_points=False, store=store)
    try:
        yield rt
    finally:
        if request.param == "postgresql":
            rt.store.drop()  # type: ignore[attr-defined]
        rt.close()


def change(rt: Runtime, sql: str, *args: Any) -> None:
    """Change the recording in the store itself."""
    with rt.store._writing("change the recording") as db:  # type: ignore[attr-defined]
        db.execute(sql, args)


def test_a_replay_reads_each_line_once_a_chunk_at_a_time_and_holds_few(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = runtime.run(plan())
    recorded_sha = runtime.trace(result.run_id).sha256()
    store = runtime.store
    loads: list[bool] = []
    asked: list[list[str]] = []
    held = [0]
    load_run, step_records, get = store.load_run, store.step_records, RecordedLines.get

    def loading(run_id: str, steps: bool = True) -> Any:
        loads.append(steps)
        return load_run(run_id, steps)

    def reading(run_id: str, step_ids: list[str]) -> dict[str, str]:
        asked.append(step_ids)
        return step_records(run_id, step_ids)

    def getting(lines: RecordedLines, step_id: str) -> str | None:
        held[0] = max(held[0], len(lines.window))
        return get(lines, step_id)

    monkeypatch.setattr(store, "load_run", loading)
    monkeypatch.setattr(store, "step_records", reading)
    monkeypatch.setattr(RecordedLines, "get", getting)
    replay = runtime.replay(result.run_id)
    assert replay.matched, replay.divergence
    assert replay.trace_sha256 == recorded_sha
    assert loads == [False]  # the run without its step lines
    read = [step_id for chunk in asked for step_id in chunk]
    assert sorted(read) == sorted(f"s{i}" for i in range(STEPS)) and len(read) == STEPS  # each once
    assert max(len(chunk) for chunk in asked) <= RecordedLines.CHUNK
    # the lines read ahead and those in flight, not the whole recording
    assert held[0] <= 2 * RecordedLines.CHUNK + 64 < STEPS, held[0]
    assert dict(replay.outcomes.items()) == dict(result.outcomes.items())  # read back when asked


def test_a_step_line_removed_from_the_store_diverges_at_that_step(runtime: Runtime) -> None:
    result = runtime.run(plan())
    change(runtime, "DELETE FROM steps WHERE run_id=? AND step_id=?", result.run_id, "s700")
    replay = runtime.replay(result.run_id)
    assert not replay.matched and replay.divergence is not None
    assert (replay.divergence.step_id, replay.divergence.reason) == ("s700", "this step is not in the recording")


def test_a_step_line_edited_in_the_store_diverges_naming_the_field(runtime: Runtime) -> None:
    result = runtime.run(plan())
    record = json.loads(runtime.store.step_records(result.run_id, ["s901"])["s901"])
    record["attempts"][0]["idempotent"] = False  # computed again by the replay, not served
    line = json.dumps(record, sort_keys=True, separators=(",", ":"))
    change(runtime, "UPDATE steps SET record=? WHERE run_id=? AND step_id=?", line, result.run_id, "s901")
    replay = runtime.replay(result.run_id)
    assert not replay.matched and replay.divergence is not None and replay.divergence.step_id == "s901"
    assert replay.divergence.reason == "the step's record differs at attempts[0].idempotent"


def test_a_recorded_step_the_plan_does_not_have_diverges(runtime: Runtime) -> None:
    """A line for a step the plan lacks, which no chunk of the plan's steps reads: found by count."""
    result = runtime.run(plan())
    line = runtime.store.step_records(result.run_id, ["s3"])["s3"].replace('"s3"', '"zz"')
    change(runtime, "INSERT INTO steps VALUES (?,?,?)", result.run_id, "zz", line)
    replay = runtime.replay(result.run_id)
    assert not replay.matched and replay.divergence is not None
    assert replay.divergence.step_id == "zz"
    assert replay.divergence.reason == "the recorded run has this step, the replay did not run it"


def test_a_recorded_step_a_changed_plan_leaves_out_diverges_at_the_first_such(runtime: Runtime) -> None:
    result = runtime.run(plan(30))
    shorter = plan(30)
    shorter["steps"] = [s for s in shorter["steps"] if s["id"] not in ("s11", "s20")]
    replay = runtime.replay(result.run_id, plan=shorter)
    assert not replay.matched and replay.divergence is not None
    assert replay.divergence.step_id == "s11"
    assert replay.divergence.reason == "the recorded run has this step, the replay did not run it"


def test_a_recorded_step_the_replay_skips_diverges_there(tmp_path: Path) -> None:
    """A step of the plan that the recording has and the replay never starts (here: a changed
    plan makes it wait for a step that fails): its line was read, never compared."""
    skills = [fake_skill("echo"), fake_skill("fail", raises=RuntimeError("boom"))]
    profile = AgentProfile(policy=Policy(on_step_failure="continue"))
    steps = [{"id": f"s{i}", "skill": "fail" if i == 1 else "echo", "params": {"text": f"t{i}"}} for i in range(5)]
    with Runtime(profile=profile, plugins=[FakePlugin(skills=skills)], entry_points=False, store=tmp_path / "r") as rt:
        result = rt.run({"steps": steps})
        steps[3]["depends_on"] = ["s1"]
        replay = rt.replay(result.run_id, plan={"steps": steps})
    assert result.failed_step == "s1" and not replay.matched and replay.divergence is not None
    assert replay.divergence.step_id == "s3"
    assert replay.divergence.reason == "the recorded run has this step, the replay did not run it"
