"""Interrupted and resumed runs: what was in flight, who decides to repeat it, what it spent,
and whether the run still replays. Runs are interrupted here the way Ctrl-C does (the run's task
is cancelled while a step is in flight); test_crash_resume.py does the same with SIGKILL."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from plugin_dir import plugin_env, write_plugin
from pydantic import BaseModel

from aos_core import ErrorCode, Policy, ResourceContract, RetryPolicy, RunNotFinished, Runtime, SideEffect
from aos_core.testing import FakePlugin, fake_skill

from .conftest import interrupt


class Amount(BaseModel):
    n: int


class Till:
    """A priced skill with side effects that notes every real execution; told to, it hangs in one
    step (so the run can be interrupted there), until the test stops it."""

    def __init__(self, *, idempotent: bool, price: str = "0.10") -> None:
        self.executions: list[str] = []
        self.hang_in: str | None = None
        self.in_flight = threading.Event()

        async def pay(params: Amount, ctx: Any) -> dict[str, Any]:
            self.executions.append(ctx.step_id)
            if ctx.step_id == self.hang_in:
                self.in_flight.set()
                await asyncio.sleep(60)
            return {"paid": params.n}

        self.skill = fake_skill(
            "pay",
            pay,
            input_model=Amount,
            side_effects=SideEffect.WRITE,
            idempotent=idempotent,
            deterministic=False,
            cost={"money_per_call": price},
        )

    def interrupted_in(self, runtime: Runtime, plan: dict[str, Any], step: str) -> str:
        """The id of `plan`'s run, interrupted while `step` is in flight."""
        self.hang_in = step
        run_id = interrupt(runtime, plan, self.in_flight)
        self.hang_in = None
        return run_id


def chain(*steps: str) -> dict[str, Any]:
    """Steps one after the other (each depends on the one before), each paying its position."""
    found = []
    for i, step in enumerate(steps):
        found.append({"id": step, "skill": "pay", "params": {"n": i + 1}, "depends_on": steps[:i][-1:]})
    return {"goal": "pay in turn", "steps": found}


def test_a_step_in_flight_with_side_effects_is_left_for_a_decision_and_the_run_stays_resumable(
    runtime_factory: Any,
) -> None:
    """Resume does not repeat a non-idempotent call that may have happened: the run ends
    `interrupted` naming it, and a second resume with the caller's decision completes it."""
    till = Till(idempotent=False)
    runtime = runtime_factory(plugins=[FakePlugin(skills=[till.skill])])
    run_id = till.interrupted_in(runtime, chain("a", "b", "c"), "b")
    declined = runtime.run(resume=run_id)
    assert declined.status == "interrupted" and not declined.ok
    assert declined.not_repeated == ("b",) and "b" not in declined.outcomes and declined.reused == ("a",)
    assert till.executions == ["a", "b"]  # b was not sent again
    assert runtime.runs(1)[0].status == "interrupted"
    decided = runtime.run(resume=run_id, repeat_in_flight=["b"])
    assert decided.ok and decided.status == "completed" and decided.repeated_in_flight == ("b",)
    assert till.executions == ["a", "b", "b", "c"]


def test_repeat_in_flight_all_repeats_every_step_left_pending(runtime_factory: Any) -> None:
    """`repeat_in_flight=["all"]` is the caller's decision for every step that was in flight."""
    till = Till(idempotent=False)
    runtime = runtime_factory(plugins=[FakePlugin(skills=[till.skill])])
    run_id = till.interrupted_in(runtime, chain("a", "b"), "a")
    result = runtime.run(resume=run_id, repeat_in_flight=["all"])
    assert result.ok and result.repeated_in_flight == ("a",) and till.executions == ["a", "a", "b"]


def test_a_profile_saying_repeat_in_flight_decides_at_resume(runtime_factory: Any, store_path: Path) -> None:
    """The resuming runtime's own policy may make the decision (a profile given at resume)."""
    till = Till(idempotent=False)
    plugins = [FakePlugin(skills=[till.skill])]
    run_id = till.interrupted_in(runtime_factory(plugins=plugins), chain("a"), "a")
    resumer = runtime_factory(plugins=plugins, policy=Policy(repeat_in_flight=True))
    result = resumer.run(resume=run_id)
    assert result.ok and result.repeated_in_flight == ("a",)


def test_an_idempotent_step_in_flight_is_repeated_without_asking(runtime_factory: Any) -> None:
    """A call whose lost attempts were all idempotent is safe to send again: resume does it."""
    till = Till(idempotent=True)
    runtime = runtime_factory(plugins=[FakePlugin(skills=[till.skill])])
    run_id = till.interrupted_in(runtime, chain("a", "b"), "b")
    result = runtime.run(resume=run_id)
    assert result.ok and result.repeated_in_flight == ("b",) and till.executions == ["a", "b", "b"]


def test_an_abandoned_step_is_committed_cancelled_with_its_params_and_the_run_replays(runtime_factory: Any) -> None:
    """`abandon_in_flight` records CANCELLED with the step's real parameters, so replay matches."""
    till = Till(idempotent=False)
    runtime = runtime_factory(plugins=[FakePlugin(skills=[till.skill])], policy=Policy(on_step_failure="continue"))
    plan = {
        "steps": [
            {"id": "a", "skill": "pay", "params": {"n": 1}},
            {"id": "b", "skill": "pay", "params": {"n": 2}, "depends_on": ["a"]},
            {"id": "c", "skill": "pay", "params": {"n": 3}, "depends_on": ["a"]},
        ]
    }
    till.hang_in = "b"
    runtime_id = interrupt(runtime, plan, lambda: till.in_flight.is_set() and "c" in till.executions)
    till.hang_in = None
    result = runtime.run(resume=runtime_id, abandon_in_flight=["b"])
    cancelled = result.outcomes["b"].error
    assert cancelled.code == ErrorCode.CANCELLED and cancelled.details["reason"] == "abandoned_in_flight"
    assert result.status == "failed" and till.executions.count("b") == 1
    record = runtime.trace(runtime_id).steps["b"]
    assert record["params"] == {"n": 2} and [lost["attempt"] for lost in record["lost"]] == [1]
    replay = runtime.replay(runtime_id)
    assert replay.matched, replay.divergence


def test_a_run_interrupted_and_resumed_replays(runtime_factory: Any) -> None:
    """The trace of a run that was interrupted, then resumed and repeated a step, replays byte for byte."""
    till = Till(idempotent=False)
    runtime = runtime_factory(plugins=[FakePlugin(skills=[till.skill])])
    run_id = till.interrupted_in(runtime, chain("a", "b", "c"), "b")
    assert runtime.run(resume=run_id, repeat_in_flight=["b"]).ok
    replay = runtime.replay(run_id)
    assert replay.matched, replay.divergence
    assert replay.trace_sha256 == runtime.trace(run_id).sha256()
    assert till.executions == ["a", "b", "b", "c"]  # the replay sent nothing


def test_replaying_a_run_that_never_finished_raises_run_not_finished(runtime_factory: Any) -> None:
    """An interrupted run, and one waiting for a decision, are not replayable yet: RunNotFinished, not a divergence."""
    till = Till(idempotent=False)
    runtime = runtime_factory(plugins=[FakePlugin(skills=[till.skill])])
    run_id = till.interrupted_in(runtime, chain("a", "b"), "b")
    with pytest.raises(RunNotFinished, match="never finished"):
        runtime.replay(run_id)
    assert runtime.run(resume=run_id).status == "interrupted"  # declined: still not finished
    with pytest.raises(RunNotFinished):
        runtime.replay(run_id)


def test_spend_before_an_interruption_counts_after_resume(runtime_factory: Any) -> None:
    """max_money=0.40 at 0.10 a call, interrupted while the third call is in flight: after resume
    the run has spent exactly what was really paid (the lost attempt's hold counts, nothing counts
    twice), and real spending never passes the limit."""
    till = Till(idempotent=True)
    runtime = runtime_factory(plugins=[FakePlugin(skills=[till.skill])], contract=ResourceContract(max_money="0.40"))
    run_id = till.interrupted_in(runtime, chain("s1", "s2", "s3", "s4", "s5"), "s3")
    result = runtime.run(resume=run_id)
    assert till.executions == ["s1", "s2", "s3", "s3"]  # s3 lost once, repeated once: 4 real calls
    assert result.outcomes["s3"].ok and result.repeated_in_flight == ("s3",)
    refused = result.outcomes["s4"].error
    assert refused.code == ErrorCode.BUDGET_EXCEEDED and refused.details["limit"] == "max_money"
    assert "s5" not in result.outcomes
    assert result.spent.money == Decimal("0.40") == Decimal("0.10") * len(till.executions)


def test_a_run_killed_with_a_call_lost_in_flight_counts_that_call_against_max_calls(runtime_factory: Any) -> None:
    """`max_calls=2`: one call committed, one lost in flight; the resume may not make a third."""
    till = Till(idempotent=True)
    runtime = runtime_factory(plugins=[FakePlugin(skills=[till.skill])], contract=ResourceContract(max_calls=2))
    run_id = till.interrupted_in(runtime, chain("a", "b", "c"), "b")
    result = runtime.run(resume=run_id)
    assert len(till.executions) == 2 and result.outcomes["b"].error.code == ErrorCode.BUDGET_EXCEEDED
    assert result.spent.calls == 2


PAY_PLUGIN = '''
import asyncio
import os

from pydantic import BaseModel

from aos_core import SideEffect, SkillMetadata, hookimpl


class Amount(BaseModel):
    n: int


class Paid(BaseModel):
    paid: int


class Pay:
    """Pays (not idempotently); notes each execution in $AOS_TEST_LOG; step S waits while $AOS_TEST_HOLD.S exists."""

    metadata = SkillMetadata(
        name="pay",
        version="0.1.0",
        description="Pays n, once per call.",
        side_effects=SideEffect.WRITE,
        idempotent=False,
        deterministic=False,
    )
    Input = Amount
    Output = Paid

    async def execute(self, params, ctx):
        with open(os.environ["AOS_TEST_LOG"], "a") as log:
            log.write(ctx.step_id + "\\n")
        while os.path.exists(os.environ.get("AOS_TEST_HOLD", "") + "." + ctx.step_id):
            await asyncio.sleep(0.005)
        return Paid(paid=params.n)


@hookimpl
def aos_register_skills(register):
    register(Pay())
'''


@pytest.fixture
def pay_plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The `pay` skill as an installed plugin (for the CLI) and as a module (for this process)."""
    import importlib
    import sys

    directory = write_plugin(tmp_path / "plugins", "aos_pay_plugin", PAY_PLUGIN)
    monkeypatch.syspath_prepend(str(directory))
    monkeypatch.setenv("AOS_TEST_LOG", str(tmp_path / "pay.log"))
    monkeypatch.setenv("AOS_TEST_HOLD", str(tmp_path / "hold"))
    module = importlib.import_module("aos_pay_plugin")
    yield directory, module
    sys.modules.pop("aos_pay_plugin", None)


def cli_interrupted_run(pay_plugin: Any, tmp_path: Path, store_path: Path) -> str:
    """A run of `pay` steps a, b interrupted (in this process) while b was in flight."""
    _, module = pay_plugin
    hold, log = tmp_path / "hold.b", tmp_path / "pay.log"
    hold.touch()
    with Runtime(plugins=[module], entry_points=False, store=store_path) as runtime:
        run_id = interrupt(runtime, chain("a", "b"), lambda: log.exists() and "b" in log.read_text().split())
    hold.unlink()
    return run_id


def test_aos_run_resume_takes_the_callers_decision_on_steps_in_flight(
    aos_cli: Any, pay_plugin: Any, tmp_path: Path, store_path: Path
) -> None:
    """`aos run --resume RUN` leaves b pending (exit 7, naming it), then `--repeat-in-flight b` completes the run."""
    run_id = cli_interrupted_run(pay_plugin, tmp_path, store_path)
    env = plugin_env(pay_plugin[0])
    declined = aos_cli("run", "--resume", run_id, "--store", str(store_path), "--json", env=env)
    assert declined.returncode == 6, declined.stderr  # resumable once decided: transient
    assert json.loads(declined.stdout)["not_repeated"] == ["b"]
    assert "--repeat-in-flight" in declined.stderr
    decided = aos_cli("run", "--resume", run_id, "--repeat-in-flight", "b", "--store", str(store_path), env=env)
    assert decided.returncode == 0, decided.stderr
    assert (tmp_path / "pay.log").read_text().split() == ["a", "b", "b"]


def test_aos_run_resume_can_abandon_a_step_in_flight(
    aos_cli: Any, pay_plugin: Any, tmp_path: Path, store_path: Path
) -> None:
    """`--abandon-in-flight all` records b as CANCELLED; the run is over and b was sent only once."""
    run_id = cli_interrupted_run(pay_plugin, tmp_path, store_path)
    done = aos_cli(
        "run", "--resume", run_id, "--abandon-in-flight", "all", "--store", str(store_path), "--json",
        env=plugin_env(pay_plugin[0]),
    )  # fmt: skip
    assert done.returncode == 7 and json.loads(done.stdout)["outcomes"]["b"]["error"]["code"] == "CANCELLED"
    assert (tmp_path / "pay.log").read_text().split() == ["a", "b"]


def test_aos_replay_of_a_run_that_never_finished_is_a_usage_error(
    aos_cli: Any, pay_plugin: Any, tmp_path: Path, store_path: Path
) -> None:
    """`aos replay RUN` of an interrupted run says it never finished and exits 2, not NON_DETERMINISTIC."""
    run_id = cli_interrupted_run(pay_plugin, tmp_path, store_path)
    done = aos_cli("replay", run_id, "--store", str(store_path), env=plugin_env(pay_plugin[0]))
    assert done.returncode == 2, done.stderr
    assert "never finished" in done.stderr and "NON_DETERMINISTIC" not in done.stderr + done.stdout


def test_aos_run_resume_with_a_decision_but_no_run_is_a_usage_error(aos_cli: Any) -> None:
    """`--repeat-in-flight` without `--resume` is refused before anything runs."""
    done = aos_cli("run", "plan.json", "--repeat-in-flight", "all")
    assert done.returncode == 2 and "--resume" in done.stderr


@pytest.mark.parametrize(
    "option",
    [["--contract", '{"max_calls": 1}'], ["--seed", "5"], ["--allow-net", "127.0.0.1"], ["--profile", "p.json"]],
)
def test_aos_run_resume_refuses_options_a_resumed_run_would_ignore(
    aos_cli: Any, pay_plugin: Any, tmp_path: Path, store_path: Path, option: list[str]
) -> None:
    """A resumed run keeps the contract, policy and seed it was recorded with: `--contract` on
    `--resume` was silently ignored (a max_calls=1 given there did not stop the resumed calls)."""
    run_id = cli_interrupted_run(pay_plugin, tmp_path, store_path)
    if option[0] == "--profile":
        (tmp_path / "p.json").write_text(json.dumps({"name": "other", "contract": {"max_calls": 1}}))
        option = ["--profile", str(tmp_path / "p.json")]
    done = aos_cli(
        "run", "--resume", run_id, *option, "--repeat-in-flight", "b", "--store", str(store_path), "--json",
        env=plugin_env(pay_plugin[0]),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "USAGE_ERROR" and option[0] in error["message"]
    assert "recorded with" in error["message"] and run_id in error["message"]
    assert (tmp_path / "pay.log").read_text().split() == ["a", "b"]  # nothing ran


def test_a_repeated_step_costs_its_lost_attempt_and_its_repeat(runtime_factory: Any) -> None:
    """A step lost in flight and repeated on resume spent twice: the run says so."""
    till = Till(idempotent=True)
    runtime = runtime_factory(
        plugins=[FakePlugin(skills=[till.skill])],
        policy=Policy(retry=RetryPolicy(max_attempts=1)),
        contract=ResourceContract(max_money="1.00"),
    )
    run_id = till.interrupted_in(runtime, chain("a"), "a")
    assert runtime.run(resume=run_id).spent.money == Decimal("0.20")  # the lost attempt and its repeat


def test_aos_run_resume_of_a_run_another_process_holds_exits_transient(
    aos_cli: Any, pay_plugin: Any, tmp_path: Path, store_path: Path
) -> None:
    """While its owner is alive (here: this process, renewing its lease), `aos run --resume` is
    refused with the owner named and exit 6: retrying later can work."""
    _, module = pay_plugin
    hold, log = tmp_path / "hold.b", tmp_path / "pay.log"
    hold.touch()
    with Runtime(plugins=[module], entry_points=False, store=store_path, lease_s=0.5) as owner:
        running = threading.Thread(target=owner.run, args=(chain("a", "b"),))
        running.start()
        try:
            deadline = time.monotonic() + 20
            while not (log.exists() and "b" in log.read_text().split()):
                assert time.monotonic() < deadline
                time.sleep(0.005)
            time.sleep(0.7)  # past the lease: only the owner's heartbeat holds it now
            run_id = owner.runs(1)[0].run_id
            done = aos_cli("run", "--resume", run_id, "--store", str(store_path), env=plugin_env(pay_plugin[0]))
        finally:
            hold.unlink()
            running.join(20)
    assert done.returncode == 6, done.stderr
    assert "held by another process" in done.stderr and "Traceback" not in done.stderr
    assert log.read_text().split() == ["a", "b"]


def test_a_run_resumed_by_the_runtime_that_ran_it_counts_its_spend_once_under_a_named_contract(
    runtime_factory: Any,
) -> None:
    """A shared contract's account already counted what the interrupted run spent in this runtime;
    the resume must not count it again (max_calls=4: a, b, c lost, c repeated; d is refused)."""
    till = Till(idempotent=True)
    runtime = runtime_factory(
        plugins=[FakePlugin(skills=[till.skill])], contract=ResourceContract(id="team", max_calls=4)
    )
    run_id = till.interrupted_in(runtime, chain("a", "b", "c", "d"), "c")
    assert runtime.query("budget")["spent"]["calls"] == 3
    result = runtime.run(resume=run_id)
    assert result.outcomes["c"].ok and result.outcomes["d"].error.code == ErrorCode.BUDGET_EXCEEDED
    assert till.executions == ["a", "b", "c", "c"]
    assert runtime.query("budget")["spent"]["calls"] == 4 == result.spent.calls


def test_a_run_resumed_by_another_runtime_brings_its_spend_into_the_named_contract(
    runtime_factory: Any, store_path: Path
) -> None:
    """Another runtime (another process) never saw that spend: the resume counts it there, once."""
    till = Till(idempotent=True)
    contract = ResourceContract(id="team", max_calls=4)
    plugins = [FakePlugin(skills=[till.skill])]
    run_id = till.interrupted_in(runtime_factory(plugins=plugins, contract=contract), chain("a", "b", "c", "d"), "c")
    other = runtime_factory(plugins=plugins, contract=contract)
    result = other.run(resume=run_id)
    assert result.outcomes["c"].ok and result.outcomes["d"].error.code == ErrorCode.BUDGET_EXCEEDED
    assert other.query("budget")["spent"]["calls"] == 4


def test_attempts_lost_before_an_earlier_resume_still_count_after_the_next(runtime_factory: Any) -> None:
    """Interrupted twice (c in flight, then d): the second resume still counts c's lost attempt,
    so under max_calls=5 the fifth real call is the last one."""
    till = Till(idempotent=True)
    runtime = runtime_factory(plugins=[FakePlugin(skills=[till.skill])], contract=ResourceContract(max_calls=5))
    run_id = till.interrupted_in(runtime, chain("a", "b", "c", "d", "e"), "c")
    till.hang_in, till.in_flight = "d", threading.Event()
    interrupt(runtime, None, till.in_flight, resume=run_id)
    till.hang_in = None
    result = runtime.run(resume=run_id)
    assert till.executions == ["a", "b", "c", "c", "d"]  # five real calls: the limit
    assert result.outcomes["d"].error.code == ErrorCode.BUDGET_EXCEEDED and result.spent.calls == 5
