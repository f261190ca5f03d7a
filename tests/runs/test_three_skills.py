"""A run through all three first-party skills (real plugins, real servers on 127.0.0.1) replays
byte for byte, from the store and from an exported file, and a changed plan diverges."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aos_core import AgentProfile, ErrorCode, NetworkPolicy, Policy, ResourceContract, Runtime
from aos_core.cli.demo import _inventory_service, demo_plan
from aos_core.testing.messages_api import MessagesAPIServer

KEY = "sk-ant-test-three-skills-0123456789"


@pytest.fixture
def services() -> Iterator[tuple[str, MessagesAPIServer]]:
    with _inventory_service() as inventory, MessagesAPIServer(api_key=KEY) as llm:
        yield inventory, llm


def runtime(inventory: str, llm: MessagesAPIServer, store: Path) -> Runtime:
    port = inventory.rsplit(":", 1)[1]
    profile = AgentProfile(
        policy=Policy(network=NetworkPolicy(allow=(f"127.0.0.1:{port}",))),
        contract=ResourceContract(max_money="0.05", max_calls=10),
    )
    config = {"skills": {"llm_invoke": {"base_url": llm.url, "api_key": KEY}}}
    return Runtime(profile=profile, config=config, store=store, seed=99)


def test_a_three_skill_run_replays_byte_for_byte(services: Any, tmp_path: Path, monkeypatch: Any) -> None:
    inventory, llm = services
    with runtime(inventory, llm, tmp_path / "a" / "runs.sqlite3") as rt:
        result = rt.run(demo_plan(inventory))
        assert result.ok, result
        assert [o.skill for o in result.outcomes.values()] == ["http_call", "json_transform", "llm_invoke"]
        assert result.outcomes["low_stock"].output == {"result": ["copper wire", "solder paste"]}
        assert result.spent.money > 0 and result.spent.input_tokens > 0
        trace = rt.trace(result.run_id)
        requests_before = len(llm.requests)
        replay = rt.replay(result.run_id)
    assert replay.matched, replay.divergence
    assert replay.reexecuted == ("low_stock",)  # the deterministic step ran again and matched
    assert len(llm.requests) == requests_before  # the model was not asked again
    assert replay.trace_sha256 == trace.sha256()
    assert KEY not in trace.text() and KEY not in result.model_dump_json()

    exported = tmp_path / "run.jsonl"
    exported.write_text(trace.text())
    monkeypatch.setenv("AOS_HOME", str(tmp_path / "fresh"))
    with Runtime() as elsewhere:  # a fresh home, default store, no services configured at all
        from_file = elsewhere.replay(exported)
    assert from_file.matched and from_file.trace_sha256 == trace.sha256()
    assert {k: v.output for k, v in from_file.outcomes.items()} == {k: v.output for k, v in result.outcomes.items()}


def test_a_changed_prompt_diverges_at_the_model_step(services: Any, tmp_path: Path) -> None:
    inventory, llm = services
    with runtime(inventory, llm, tmp_path / "runs.sqlite3") as rt:
        result = rt.run(demo_plan(inventory))
        changed = copy.deepcopy(demo_plan(inventory))
        changed["steps"][2]["params"]["prompt"] = "Shorter: ${steps.low_stock.output.result}"
        replay = rt.replay(result.run_id, plan=changed)
    assert not replay.matched and replay.error.code == ErrorCode.NON_DETERMINISTIC
    assert replay.divergence.step_id == "note"
    assert replay.divergence.actual["prompt"] == 'Shorter: ["copper wire", "solder paste"]'


def test_aos_demo_runs_offline_and_its_replay_matches(aos_cli: Any) -> None:
    result = aos_cli("demo", "--json", timeout=180)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["simulation"]["feasible"] is True
    assert data["run"]["status"] == "completed"
    assert data["replay"]["matched"] is True
    shown = aos_cli("show", data["run"]["run_id"], "--json")
    assert json.loads(shown.stdout)["status"] == "completed"
