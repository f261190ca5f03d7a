"""Prometheus metrics: every metric of the catalog shows up with its help text in an exposition
that parses, names follow the conventions, label values stay bounded, and the counts are right."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aos_core import (
    AgentProfile,
    ErrorCode,
    Policy,
    RateLimit,
    ResourceContract,
    RetryPolicy,
    Runtime,
    SkillError,
    render_metrics,
    start_metrics_server,
    worker_heartbeat,
)
from aos_core.cli.demo import demo_plan
from aos_core.observability.catalog import METRICS
from aos_core.testing import FakePlugin, VirtualClock, fake_skill

ROOT = Path(__file__).resolve().parents[2]


def families(body: bytes) -> dict[str, Any]:
    """The exposition parsed by prometheus_client's own parser (it raises on malformed text)."""
    from prometheus_client.parser import text_string_to_metric_families

    return {family.name: family for family in text_string_to_metric_families(body.decode("utf-8"))}


def value(found: dict[str, Any], name: str, **labels: str) -> float:
    """The sample `name` with exactly these label values (a counter family is named without _total)."""
    family = found[re.sub(r"_total$", "", name)] if name not in found else found[name]
    for sample in family.samples:
        if sample.name == name and sample.labels == labels:
            return float(sample.value)
    raise KeyError(f"{name}{labels} not in {[(s.name, s.labels) for s in family.samples]}")


class _Flaky:
    """Fails with a transient error on its first attempt, then succeeds."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, params: Any, ctx: Any) -> Any:
        self.calls += 1
        if self.calls == 1:
            raise SkillError(ErrorCode.CONNECTION_FAILED, "first attempt fails")
        return {"echo": params.text}


def workload(three_skills: Callable[..., Runtime], registry: Any, tmp_path: Path, inventory: str) -> Runtime:
    """The demo plan, a replay, and direct calls that meet every gate: an unknown skill, a retry,
    a rate-limit wait, a budget refusal, a policy refusal, a run waiting for an approval."""
    with three_skills(metrics=registry) as rt:
        result = rt.run(demo_plan(inventory))
        assert result.ok, result
        assert rt.replay(result.run_id).matched
    plugin = FakePlugin(
        skills=[
            fake_skill("echo"),
            fake_skill("flaky", fn=_Flaky(), failure_codes=[ErrorCode.CONNECTION_FAILED]),
            fake_skill("writer", side_effects="write"),
        ],
        name="fakes",
    )
    # one call a second on a virtual clock: the second call waits, however slow the machine is
    contract = ResourceContract(id="small", max_calls=4, rate_limits={"echo": RateLimit(per_second=1, burst=1)})
    policy = Policy(retry=RetryPolicy(max_attempts=2, base_delay_ms=0, max_delay_ms=0), deny_skills=("writer",))
    rt = Runtime(
        plugins=[plugin],
        entry_points=False,
        profile=AgentProfile(policy=policy, contract=contract),
        metrics=registry,
        store=tmp_path / "direct.sqlite3",
        clock=VirtualClock(),
    )
    assert rt.execute("echo", {"text": "a"}).ok
    assert rt.execute("echo", {"text": "b"}).ok  # the bucket held one: this one waited
    assert rt.execute("flaky", {"text": "c"}).attempts == 2
    assert rt.execute("writer", {"text": "d"}).error.code == ErrorCode.PERMISSION_DENIED
    assert rt.execute("no-such-skill", {}).error.code == ErrorCode.SKILL_NOT_FOUND
    assert rt.execute("echo", {"text": "e"}).error.code == ErrorCode.BUDGET_EXCEEDED  # max_calls=4 used up
    waiting = Runtime(
        plugins=[FakePlugin(skills=[fake_skill("writer", side_effects="write")], name="w")],
        entry_points=False,
        metrics=registry,
        store=tmp_path / "direct.sqlite3",
        profile=AgentProfile(policy=Policy(approval_required_for=("write",))),
    )
    paused = waiting.run(
        {"version": 1, "steps": [{"id": "w", "skill": "writer", "params": {"text": "x"}}]}, approvals="wait"
    )
    assert paused.status == "waiting_approval"
    waiting.close()
    worker_heartbeat(registry=registry)
    return rt


def test_every_metric_is_exported_with_its_help_and_the_exposition_parses(
    three_skills: Callable[..., Runtime], services: Any, registry: Any, tmp_path: Path
) -> None:
    """After the demo plan and calls through every gate, each catalog metric is in the exposition
    with the catalog's help text, and prometheus_client's parser reads it back."""
    rt = workload(three_skills, registry, tmp_path, services[0])
    body, content_type = render_metrics(registry=registry, store=rt.store)
    rt.close()
    assert content_type.startswith("text/plain; version=0.0.4")
    found = families(body)
    without_samples = []
    for spec in METRICS:
        family = found[spec.name.removesuffix("_total")]
        assert family.type == spec.kind, spec.name
        assert family.documentation == spec.help, spec.name
        if not family.samples:
            without_samples.append(spec.name)
    # a plugin that failed to load is shown by its own test; every other metric has a value here
    assert without_samples == ["aos_plugin_load_failures"], without_samples


def test_names_follow_the_prometheus_conventions() -> None:
    """aos_ prefix, _total on counters only, base units in the name, snake case, labels bounded by design."""
    forbidden_labels = {"run_id", "step_id", "url", "trace_id", "message", "params"}
    for spec in METRICS:
        assert re.fullmatch(r"aos_[a-z0-9_]+", spec.name), spec.name
        assert spec.name.endswith("_total") == (spec.kind == "counter"), spec.name
        assert not re.search(r"_(ms|milliseconds|minutes|hours|bytes_total_total)$", spec.name), spec.name
        if "duration" in spec.name or "timestamp" in spec.name or "wait_seconds" in spec.name:
            assert "_seconds" in spec.name, spec.name
        assert not forbidden_labels & set(spec.labels), spec.name
        assert spec.help.endswith(".") and len(spec.help) > 20, spec.name
    assert len({spec.name for spec in METRICS}) == len(METRICS)


def test_counts_and_label_values(
    three_skills: Callable[..., Runtime], services: Any, registry: Any, tmp_path: Path
) -> None:
    """The workload's calls are counted by skill, code and category; refusals by limit and code;
    spend by skill, model and contract; and no run id, URL or parameter appears anywhere."""
    rt = workload(three_skills, registry, tmp_path, services[0])
    body, _ = render_metrics(registry=registry, store=rt.store)
    run_ids = [summary.run_id for summary in rt.runs()]
    rt.close()
    found = families(body)
    calls = "aos_skill_calls_total"
    assert value(found, calls, skill="http_call", code="OK", category="OK") == 1
    assert value(found, calls, skill="llm_invoke", code="OK", category="OK") == 1
    assert value(found, calls, skill="echo", code="OK", category="OK") == 2
    assert value(found, calls, skill="echo", code="BUDGET_EXCEEDED", category="RESOURCE") == 1
    assert value(found, calls, skill="(unknown)", code="SKILL_NOT_FOUND", category="PERMANENT") == 1
    assert value(found, "aos_skill_attempts_total", skill="flaky") == 2
    assert value(found, "aos_skill_retries_total", skill="flaky", code="CONNECTION_FAILED") == 1
    assert value(found, "aos_budget_refusals_total", skill="echo", limit="max_calls") == 1
    assert value(found, "aos_policy_refusals_total", skill="writer", code="PERMISSION_DENIED") == 1
    assert value(found, "aos_rate_limit_waits_total", skill="echo") == 1
    assert value(found, "aos_rate_limit_wait_seconds_total", skill="echo") > 0
    assert value(found, "aos_approvals_requested_total", skill="writer") == 1
    assert (
        value(
            found,
            "aos_tokens_spent_total",
            skill="llm_invoke",
            model="claude-sonnet-5-5",
            contract="demo",
            direction="input",
        )
        > 0
    )
    assert (
        value(
            found,
            "aos_money_spent_total",
            skill="llm_invoke",
            model="claude-sonnet-5-5",
            contract="demo",
            currency="USD",
        )
        > 0
    )
    assert value(found, "aos_runs_started_total", mode="new") == 2
    assert value(found, "aos_runs_ended_total", status="completed") == 1
    assert value(found, "aos_runs_ended_total", status="waiting_approval") == 1
    assert value(found, "aos_steps_committed_total", outcome="ok") == 3
    assert value(found, "aos_runs_in_progress") == 0
    assert value(found, "aos_replays_total", result="matched") == 1
    assert value(found, "aos_stored_runs", status="waiting_approval") == 1
    assert value(found, "aos_approvals_waiting") == 1
    assert value(found, "aos_budget_limit", contract="small", limit="max_calls") == 4
    assert value(found, "aos_budget_remaining", contract="small", limit="max_calls") == 0
    assert value(found, "aos_budget_reserved", contract="small", limit="max_calls") == 0
    assert value(found, "aos_build_info", component="aos-core", version="0.1.0") == 1
    assert value(found, "aos_worker_up") == 1
    text = body.decode()
    assert run_ids and not [r for r in run_ids if r in text]
    assert "http://" not in text and "inventory" not in text and "store manager" not in text


def test_a_plugin_that_fails_to_load_is_counted_by_name(registry: Any, tmp_path: Path) -> None:
    """`aos_plugin_load_failures{plugin}` is 1 for a plugin the runtime refused."""

    class Broken:
        from aos_core import hookimpl

        @hookimpl
        def aos_register_skills(self, register: Any) -> None:
            raise RuntimeError("this plugin is broken")

    with Runtime(plugins=[Broken()], entry_points=False, metrics=registry, store=tmp_path / "r.sqlite3") as rt:
        failed = [r.name for r in rt.plugins if r.status == "failed"]
    assert failed
    found = families(render_metrics(registry=registry)[0])
    assert value(found, "aos_plugin_load_failures", plugin=failed[0]) == 1


def test_openmetrics_is_served_when_asked_for(registry: Any, tmp_path: Path) -> None:
    with Runtime(entry_points=False, metrics=registry, store=tmp_path / "r.sqlite3"):
        body, content_type = render_metrics("application/openmetrics-text; version=1.0.0", registry=registry)
    assert content_type.startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def test_a_metrics_port_serves_the_exposition(tmp_path: Path) -> None:
    """`start_metrics_server` answers GET /metrics on 127.0.0.1 (what `aos worker --metrics-port` uses)."""
    with Runtime(
        plugins=[FakePlugin(skills=[fake_skill("echo")])],
        entry_points=False,
        metrics=True,
        store=tmp_path / "r.sqlite3",
    ) as rt:
        assert rt.execute("echo", {"text": "x"}).ok
        server = start_metrics_server(0)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/metrics", timeout=10) as response:
                body = response.read()
                assert response.headers["Content-Type"].startswith("text/plain")
        finally:
            server.shutdown()
            server.server_close()
    assert value(families(body), "aos_skill_calls_total", skill="echo", code="OK", category="OK") >= 1


_WORKER = textwrap.dedent(
    """
    import sys
    from aos_core import Runtime, worker_heartbeat
    from aos_core.testing import FakePlugin, fake_skill
    with Runtime(plugins=[FakePlugin(skills=[fake_skill("echo")])], entry_points=False, metrics=True,
                 store=sys.argv[1]) as rt:
        for _ in range(int(sys.argv[2])):
            assert rt.execute("echo", {"text": "x"}).ok
        worker_heartbeat()
    """
)


def test_processes_sharing_a_port_add_up_in_multiprocess_mode(tmp_path: Path) -> None:
    """With PROMETHEUS_MULTIPROC_DIR, two worker processes' counts are summed by one render, and a
    dead worker's live gauge is dropped once its supervisor marks it dead."""
    directory = tmp_path / "prom"
    directory.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    pids = []
    for count in (3, 4):
        done = subprocess.run(
            [sys.executable, "-c", _WORKER, str(tmp_path / "runs.sqlite3"), str(count)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        pids.extend(int(p.stem.rsplit("_", 1)[1]) for p in directory.glob("gauge_livesum_*.db"))
    render = textwrap.dedent(
        """
        import sys
        from aos_core import mark_process_dead, render_metrics
        sys.stdout.write(render_metrics()[0].decode())
        for pid in sys.argv[1:]:
            mark_process_dead(int(pid))
        sys.stdout.write("=====\\n" + render_metrics()[0].decode())
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", render, *map(str, set(pids))],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    before, after = done.stdout.split("=====\n")
    assert value(families(before.encode()), "aos_skill_calls_total", skill="echo", code="OK", category="OK") == 7
    assert value(families(before.encode()), "aos_worker_up") == 2
    assert value(families(after.encode()), "aos_skill_calls_total", skill="echo", code="OK", category="OK") == 7
    assert "aos_worker_up " not in after or value(families(after.encode()), "aos_worker_up") == 0


def test_metrics_off_imports_no_prometheus_client(tmp_path: Path) -> None:
    """A runtime with metrics and tracing off (the default) never imports prometheus_client or OpenTelemetry."""
    code = textwrap.dedent(
        """
        import sys
        from aos_core import Runtime
        from aos_core.testing import FakePlugin, fake_skill
        with Runtime(plugins=[FakePlugin(skills=[fake_skill("echo")])], entry_points=False, store=sys.argv[1]) as rt:
            assert rt.execute("echo", {"text": "x"}).ok
            assert rt.run({"version": 1, "steps": [{"id": "a", "skill": "echo", "params": {"text": "y"}}]}).ok
        print(sorted(m for m in sys.modules if m.split(".")[0] in ("prometheus_client", "opentelemetry")))
        """
    )
    env = {k: v for k, v in os.environ.items() if k not in ("AOS_METRICS", "AOS_TRACING", "AOS_LOGS")}
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "r.sqlite3")],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_aos_metrics_switches_metrics_on_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from prometheus_client import REGISTRY

    monkeypatch.setenv("AOS_METRICS", "1")
    with Runtime(
        plugins=[FakePlugin(skills=[fake_skill("envecho")])], entry_points=False, store=tmp_path / "r.sqlite3"
    ) as rt:
        assert rt.execute("envecho", {"text": "x"}).ok
    assert REGISTRY.get_sample_value("aos_skill_calls_total", {"skill": "envecho", "code": "OK", "category": "OK"}) == 1
