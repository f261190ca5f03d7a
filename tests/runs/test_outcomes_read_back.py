"""A run's result reads its outcomes from where they were recorded, instead of holding them all."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

from aos_core import Runtime
from aos_core.contracts.plan import Plan
from aos_core.testing import FakePlugin, fake_skill

STEPS = 2_000


def many_steps(failing: str | None = None) -> Plan:
    return Plan.model_validate(
        {
            "steps": [
                {"id": f"s{i}", "skill": "fail" if f"s{i}" == failing else "echo", "params": {"text": f"t{i}"}}
                for i in range(STEPS)
            ]
        }
    )


def test_a_durable_run_does_not_hold_the_outcomes_of_its_steps(tmp_path: Path) -> None:
    """Memory kept by a run's result does not grow with the outcomes: ~780 bytes a step when every
    outcome and output was held, ~60 now (its step ids' order and index)."""
    echo = fake_skill("echo")
    plugins = [FakePlugin(skills=[echo])]
    no_history = {"history_limit": 0}  # the runtime's bounded history of recent outcomes: not the run's
    with Runtime(plugins=plugins, entry_points=False, store=tmp_path / "runs.sqlite3", config=no_history) as rt:
        plan = many_steps()
        rt.run(plan)  # warm: imports, caches
        echo.calls.clear()
        gc.collect()
        tracemalloc.start()
        try:
            result = rt.run(plan)
            echo.calls.clear()  # the fake skill remembers its calls: not the run's memory
            gc.collect()
            held, _ = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result.ok
        assert held < 500 * STEPS, f"{held / STEPS:.0f} bytes a step"


def test_outcomes_are_read_back_in_plan_order_equal_to_the_trace(tmp_path: Path) -> None:
    """Iterated, the outcomes come in plan order, each the one the trace recorded; a failed step's too."""
    skills = [fake_skill("echo"), fake_skill("fail", raises=RuntimeError("boom"))]
    with Runtime(plugins=[FakePlugin(skills=skills)], entry_points=False, store=tmp_path / "runs.sqlite3") as rt:
        result = rt.run(many_steps(failing="s1500"))
        trace = rt.trace(result.run_id)
        outcomes = dict(result.outcomes.items())
    ran = sorted(outcomes, key=lambda s: int(s[1:]))  # the steps that ran (the failure stopped the run)
    assert list(outcomes) == ran == list(result.outcomes) and len(ran) == len(result.outcomes)
    assert result.failed_step == "s1500" and not outcomes["s1500"].ok and len(ran) > 1500
    for step_id, outcome in outcomes.items():
        assert outcome.model_dump(mode="json") == {**trace.steps[step_id]["outcome"], "trace_id": result.run_id}
    assert result.outcomes["s7"].output == {"text": "t7"} and "s9999" not in result.outcomes


def test_a_result_read_after_its_runtime_closed_reads_the_store_file(tmp_path: Path) -> None:
    """The outcomes of a run on an SQLite file stay readable once its runtime is closed."""
    with Runtime(
        plugins=[FakePlugin(skills=[fake_skill("echo")])], entry_points=False, store=tmp_path / "r.sqlite3"
    ) as rt:
        result = rt.run({"steps": [{"id": "a", "skill": "echo", "params": {"text": "x"}}]})
    assert result.outcomes["a"].output == {"text": "x"}
    assert '"output":{"text":"x"}' in result.model_dump_json()


def test_a_replays_outcomes_are_the_runs(tmp_path: Path) -> None:
    """A replay's outcomes, read from the recording, equal the run's; a replay of the trace written
    with other spacing (not canonical) matches too, with the same canonical sha256."""
    import json

    from aos_core.runs.trace import TraceDocument

    with Runtime(
        plugins=[FakePlugin(skills=[fake_skill("echo")])], entry_points=False, store=tmp_path / "r.sqlite3"
    ) as rt:
        result = rt.run(many_steps())
        replay = rt.replay(result.run_id)
        loose = "".join(json.dumps(json.loads(line)) + "\n" for line in rt.trace(result.run_id).lines())
        from_file = rt.replay(TraceDocument.parse(loose))
        assert replay.matched and from_file.matched, (replay.divergence, from_file.divergence)
        assert dict(replay.outcomes.items()) == dict(result.outcomes.items())
    assert from_file.trace_sha256 == replay.trace_sha256 == rt.trace(result.run_id).sha256()
