"""Plan-level preflight: `aos simulate` runs the checks the executor would refuse a call for, and
`aos run` refuses such a plan before its first step, proven against a real local server that
counts the requests it gets (none)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from aos_core import PlanProblem, Runtime
from aos_core.testing import FakePlugin, fake_skill

pytestmark = pytest.mark.network


class Counting:
    """A local server that answers every request with 200 and counts them."""

    def __init__(self) -> None:
        self.requests = 0
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.requests += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                body = b'{"ok": true}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def counting() -> Iterator[Counting]:
    server = Counting()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def side_effect_then_llm(tmp_path: Path, port: int) -> Path:
    """A POST that changes something, then an llm_invoke whose worst case is far over 0.01 USD."""
    plan = {
        "version": 1,
        "goal": "write, then ask",
        "steps": [
            {"id": "write", "skill": "http_call",
             "params": {"method": "POST", "url": f"http://127.0.0.1:{port}/orders", "json": {"n": 1}}},
            {"id": "ask", "skill": "llm_invoke",
             "params": {"prompt": "summarise ${steps.write.output.body}", "max_tokens": 60000},
             "depends_on": ["write"]},
        ],
    }  # fmt: skip
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


KEY = {"ANTHROPIC_API_KEY": "sk-ant-test-not-a-real-key"}


def test_a_plan_whose_worst_case_is_over_the_contract_is_refused_before_its_first_step(
    aos_cli: Any, tmp_path: Path, counting: Counting
) -> None:
    plan = side_effect_then_llm(tmp_path, counting.port)
    args = ("run", str(plan), "--allow-net", f"127.0.0.1:{counting.port}", "--contract", '{"max_money": "0.01"}')
    done = aos_cli(*args, "--json", env=KEY)
    assert done.returncode == 5, done.stderr
    refused = json.loads(done.stdout)
    assert (refused["ok"], refused["status"], refused["run_id"]) == (False, "refused", None)
    error = refused["error"]
    assert (error["code"], error["category"]) == ("BUDGET_EXCEEDED", "RESOURCE")
    worst = error["details"]["simulation"]["cost"]["worst"]
    assert float(worst["money"]) > 0.01 and error["details"]["contract"]["max_money"] == "0.01"
    assert done.stderr.startswith("aos: refused before the first step, nothing spent: ")
    assert "--no-preflight runs it anyway" in done.stderr
    assert counting.requests == 0
    assert json.loads(aos_cli("runs", "--json").stdout)["runs"] == []  # nothing recorded either


def test_without_preflight_the_side_effect_happens_before_the_budget_refuses(
    aos_cli: Any, tmp_path: Path, counting: Counting
) -> None:
    """What the preflight prevents: --no-preflight sends the POST, then the llm step is refused."""
    plan = side_effect_then_llm(tmp_path, counting.port)
    args = ("run", str(plan), "--allow-net", f"127.0.0.1:{counting.port}", "--contract", '{"max_money": "0.01"}')
    done = aos_cli(*args, "--no-preflight", "--json", env=KEY)
    assert done.returncode == 5
    result = json.loads(done.stdout)
    assert result["failed_step"] == "ask" and result["outcomes"]["ask"]["error"]["code"] == "BUDGET_EXCEEDED"
    assert counting.requests == 1


def test_a_destination_the_policy_refuses_is_a_problem_of_its_step_and_refuses_the_run(
    aos_cli: Any, tmp_path: Path, counting: Counting
) -> None:
    plan = side_effect_then_llm(tmp_path, counting.port)
    simulated = aos_cli("simulate", str(plan), "--json", env=KEY)
    assert simulated.returncode == 4
    report = json.loads(simulated.stdout)
    assert not report["feasible"]
    (problem,) = report["problems"]
    assert (problem["step_id"], problem["code"]) == ("write", "POLICY_VIOLATION")
    assert f"allow it with --allow-net 127.0.0.1:{counting.port}" in problem["message"]
    ran = aos_cli("run", str(plan), "--json", env=KEY)
    assert ran.returncode == 4 and json.loads(ran.stdout)["error"]["code"] == "POLICY_VIOLATION"
    assert counting.requests == 0


def test_missing_secrets_and_a_missing_key_are_problems_of_their_steps(aos_cli: Any, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    steps = [
        {"id": "fetch", "skill": "http_call",
         "params": {"url": "https://example.org/", "headers": {"Authorization": "Bearer ${secrets.NO_SUCH_TOKEN}"}}},
        {"id": "ask", "skill": "llm_invoke", "params": {"prompt": "hi", "max_tokens": 10}},
    ]  # fmt: skip
    plan.write_text(json.dumps({"version": 1, "goal": "g", "steps": steps}))
    done = aos_cli("simulate", str(plan))
    assert done.returncode == 3
    assert "problem: step fetch: INVALID_INPUT: http_call: secret NO_SUCH_TOKEN is not set" in done.stdout
    assert "problem: step ask: PERMISSION_DENIED: no Anthropic API key" in done.stdout
    assert "feasible: no" in done.stdout
    with_both = aos_cli("simulate", str(plan), "--json", env={**KEY, "NO_SUCH_TOKEN": "t0ken-value"})
    assert with_both.returncode == 0 and json.loads(with_both.stdout)["problems"] == []


def test_a_skills_preflight_problem_gets_its_step_and_a_crashing_preflight_is_only_a_warning() -> None:
    """The hook as a plugin author writes it: problems returned or raised; a crash never blocks."""
    from aos_core import ErrorCode, SkillError

    picky = fake_skill("picky")
    picky.preflight = lambda params, ctx: [PlanProblem(code=ErrorCode.INVALID_INPUT, message=f"no {params['x']}")]
    raising = fake_skill("raising")

    def refuse(params: Any, ctx: Any) -> list[PlanProblem]:
        raise SkillError(ErrorCode.PERMISSION_DENIED, "not with this policy")

    raising.preflight = refuse
    broken = fake_skill("broken")
    broken.preflight = lambda params, ctx: 1 / 0
    plan = {"version": 1, "goal": "g", "steps": [
        {"id": "a", "skill": "picky", "params": {"x": "thanks"}},
        {"id": "b", "skill": "raising", "params": {}},
        {"id": "c", "skill": "broken", "params": {}},
    ]}  # fmt: skip
    with Runtime(plugins=[FakePlugin(skills=[picky, raising, broken])], entry_points=False) as runtime:
        report = runtime.simulate(plan)
    assert [(p.step_id, p.code.value, p.message) for p in report.problems] == [
        ("a", "INVALID_INPUT", "no thanks"),
        ("b", "PERMISSION_DENIED", "raising: not with this policy"),
    ]
    assert any("the preflight of broken failed (ZeroDivisionError" in w for w in report.warnings)


def test_warm_up_runs_before_the_clock_starts_and_a_failing_one_fails_the_call() -> None:
    """A heavy import in warm_up() is not counted in the call's duration (llm_invoke imports anthropic there)."""
    import time

    from aos_core import ErrorCode

    slow = fake_skill("slow_start", returns={"value": 1})
    slow.warm_up = lambda: time.sleep(0.3)
    broken = fake_skill("broken_start")

    def fail_to_start() -> None:
        raise ImportError("no module named 'sdk'")

    broken.warm_up = fail_to_start
    with Runtime(plugins=[FakePlugin(skills=[slow, broken])], entry_points=False) as runtime:
        timed = runtime.execute("slow_start", {"value": 1})
        failed = runtime.execute("broken_start", {"value": 1})
    assert timed.ok and timed.duration_ms < 100
    assert failed.error is not None and failed.error.code == ErrorCode.SKILL_CRASHED
    assert failed.error.message == "broken_start's warm_up() failed: ImportError: no module named 'sdk'"


def test_a_refusal_carries_the_first_problems_and_how_many_there_are(aos_cli: Any, tmp_path: Path) -> None:
    """Every problem of a 100,000-step plan, dumped twice in the refusal's details, was a 345 MiB
    peak to refuse it (bench case 6's plan with an unknown skill); `aos simulate` lists them all."""
    from aos_core.planning.service import SHOWN_PROBLEMS

    steps = [{"id": f"s{i}", "skill": "json_transfrom", "params": {}} for i in range(SHOWN_PROBLEMS + 5)]
    path = tmp_path / "plan.json"
    path.write_text(json.dumps({"steps": steps}))
    done = aos_cli("run", str(path), "--json")
    assert done.returncode == 7, done.stderr
    error = json.loads(done.stdout)["error"]
    assert error["code"] == "SKILL_NOT_FOUND" and error["details"]["problems_total"] == SHOWN_PROBLEMS + 5
    shown = error["details"]["problems"]
    assert [p["step_id"] for p in shown] == [f"s{i}" for i in range(SHOWN_PROBLEMS)]
    assert shown[0]["message"] == "unknown skill 'json_transfrom'; did you mean json_transform?"
    assert "problems" not in error["details"]["simulation"] and error["details"]["simulation"]["feasible"] is False
    assert f"(+{SHOWN_PROBLEMS + 4} more problem(s); aos simulate {path} lists them all)" in done.stderr
    listed = json.loads(aos_cli("simulate", str(path), "--json").stdout)["problems"]
    assert len(listed) == SHOWN_PROBLEMS + 5
