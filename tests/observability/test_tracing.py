"""OpenTelemetry spans: the tree of a three-skill run, GenAI attributes on the model call under
either semantic-convention version, and a caller's W3C trace continuing through a run, through
`http_call`'s requests, and through a worker that resumes a submitted run."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from aos_core import AgentProfile, NetworkPolicy, Policy, Runtime
from aos_core.cli.demo import demo_plan
from aos_core.testing import FakePlugin, fake_skill

KEY = "sk-ant-test-observability-0123456789"  # the key conftest.py gives llm_invoke

CALLER = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
CALLER_TRACE, CALLER_SPAN = "0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331"


def _tree(finished: list[Any]) -> dict[str, list[str]]:
    """parent span name -> child span names, in start order."""
    by_id = {span.context.span_id: span for span in finished}
    tree: dict[str, list[str]] = {}
    for span in sorted(finished, key=lambda s: s.start_time):
        parent = by_id.get(span.parent.span_id).name if span.parent and span.parent.span_id in by_id else None
        tree.setdefault(str(parent), []).append(span.name)
    return tree


def _all_attribute_text(finished: list[Any]) -> str:
    return " ".join(f"{s.name} {dict(s.attributes)}" for s in finished)


def test_a_three_skill_run_is_a_tree_of_run_step_and_attempt_spans(
    three_skills: Callable[..., Runtime], services: Any, spans: Any
) -> None:
    provider, exporter = spans
    with three_skills(tracing=provider) as rt:
        result = rt.run(demo_plan(services[0]))
    assert result.ok, result
    finished = exporter.get_finished_spans()
    assert _tree(finished) == {
        "None": ["aos.run"],
        "aos.run": ["execute_tool http_call", "execute_tool json_transform", "execute_tool llm_invoke"],
        "execute_tool http_call": ["aos.attempt http_call"],
        "execute_tool json_transform": ["aos.attempt json_transform"],
        "execute_tool llm_invoke": ["chat claude-sonnet-5-5"],
    }
    assert len({span.context.trace_id for span in finished}) == 1
    run = next(s for s in finished if s.name == "aos.run")
    assert run.attributes["aos.run.id"] == result.run_id and run.attributes["aos.run.status"] == "completed"
    step = next(s for s in finished if s.name == "execute_tool llm_invoke")
    assert step.attributes["gen_ai.operation.name"] == "execute_tool"
    assert step.attributes["gen_ai.tool.name"] == "llm_invoke"
    assert step.attributes["aos.step.id"] == "note"
    chat = next(s for s in finished if s.name.startswith("chat "))
    attrs = dict(chat.attributes)
    assert attrs["gen_ai.operation.name"] == "chat"
    assert attrs["gen_ai.system"] == "anthropic"
    assert attrs["gen_ai.request.model"] == "claude-sonnet-5-5"
    assert attrs["gen_ai.response.model"] == result.outcomes["note"].output["model"]
    usage = result.outcomes["note"].output["usage"]
    assert attrs["gen_ai.usage.input_tokens"] == usage["input_tokens"]
    assert attrs["gen_ai.usage.output_tokens"] == usage["output_tokens"]
    assert list(attrs["gen_ai.response.finish_reasons"]) == [result.outcomes["note"].output["stop_reason"]]
    assert "gen_ai.prompt" not in attrs and "gen_ai.completion" not in attrs  # no content by default
    text = _all_attribute_text(finished)
    assert "store manager" not in text and "copper wire" not in text
    assert KEY not in text


def test_the_latest_genai_conventions_when_opted_in(
    three_skills: Callable[..., Runtime], services: Any, spans: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`OTEL_SEMCONV_STABILITY_OPT_IN=gen_ai_latest_experimental`: provider.name, and input tokens
    counting the cache, with the cache's own attributes."""
    monkeypatch.setenv("OTEL_SEMCONV_STABILITY_OPT_IN", "http,gen_ai_latest_experimental")
    provider, exporter = spans
    with three_skills(tracing=provider) as rt:
        result = rt.run(demo_plan(services[0]))
    attrs = dict(next(s for s in exporter.get_finished_spans() if s.name.startswith("chat ")).attributes)
    usage = result.outcomes["note"].output["usage"]
    assert attrs["gen_ai.provider.name"] == "anthropic" and "gen_ai.system" not in attrs
    cached = usage["cache_read_input_tokens"] + usage["cache_creation_input_tokens"]
    assert attrs["gen_ai.usage.input_tokens"] == usage["input_tokens"] + cached
    assert attrs["gen_ai.usage.cache_read.input_tokens"] == usage["cache_read_input_tokens"]
    assert "gen_ai.input.messages" not in attrs


def test_prompt_and_completion_are_recorded_only_when_switched_on(
    three_skills: Callable[..., Runtime], services: Any, spans: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AOS_TRACE_CONTENT", "1")
    provider, exporter = spans
    with three_skills(tracing=provider) as rt:
        result = rt.run(demo_plan(services[0]))
    attrs = dict(next(s for s in exporter.get_finished_spans() if s.name.startswith("chat ")).attributes)
    assert "copper wire" in attrs["gen_ai.prompt"]
    assert result.outcomes["note"].output["text"][:20] in attrs["gen_ai.completion"]
    assert KEY not in _all_attribute_text(exporter.get_finished_spans())


def _fetch_runtime(url: str, store: Path, **kwargs: Any) -> Runtime:
    port = url.rsplit(":", 1)[1]
    profile = AgentProfile(policy=Policy(network=NetworkPolicy(allow=(f"127.0.0.1:{port}",))))
    return Runtime(profile=profile, store=store, **kwargs)


def _fetch_plan(url: str) -> dict[str, Any]:
    return {"version": 1, "steps": [{"id": "fetch", "skill": "http_call", "params": {"method": "GET", "url": url}}]}


def test_a_callers_trace_continues_through_the_run_and_out_through_http_call(
    echo_server: Any, spans: Any, tmp_path: Path
) -> None:
    """The run span's parent is the caller's span; the request http_call sends carries a
    traceparent of the same trace whose parent is the attempt's span."""
    url, received = echo_server
    provider, exporter = spans
    with _fetch_runtime(url, tmp_path / "r.sqlite3", tracing=provider) as rt:
        result = rt.run(_fetch_plan(url), traceparent=CALLER)
    assert result.ok, result
    finished = exporter.get_finished_spans()
    run = next(s for s in finished if s.name == "aos.run")
    assert f"{run.context.trace_id:032x}" == CALLER_TRACE
    assert f"{run.parent.span_id:016x}" == CALLER_SPAN and run.parent.is_remote
    attempt = next(s for s in finished if s.name == "aos.attempt http_call")
    sent = received[0]["traceparent"]
    assert sent == f"00-{CALLER_TRACE}-{attempt.context.span_id:016x}-01"
    assert "traceparent" not in str(result.outcomes["fetch"].model_dump())  # not recorded: replay is unchanged


def test_without_tracing_the_callers_traceparent_is_passed_on(echo_server: Any, tmp_path: Path) -> None:
    url, received = echo_server
    with _fetch_runtime(url, tmp_path / "r.sqlite3", tracing=False) as rt:
        assert rt.run(_fetch_plan(url), traceparent=CALLER.upper()).ok
        assert rt.run(_fetch_plan(url)).ok
        assert rt.run(_fetch_plan(url), traceparent="00-not-a-traceparent").ok
    assert received[0]["traceparent"] == CALLER  # normalised to lower case
    assert "traceparent" not in received[1] and "traceparent" not in received[2]


def test_a_direct_call_continues_the_callers_trace(echo_server: Any, spans: Any, tmp_path: Path) -> None:
    """`execute(..., traceparent=)`, as `POST /v1/skills/{name}/execute` passes it: the call's span
    is the caller's child, and the request the skill sends is in the caller's trace; without
    tracing the caller's traceparent is passed on as it is."""
    url, received = echo_server
    provider, exporter = spans
    fetch = {"method": "GET", "url": url}
    with _fetch_runtime(url, tmp_path / "r.sqlite3", tracing=provider) as rt:
        assert rt.execute("http_call", fetch, traceparent=CALLER).ok
    call = next(s for s in exporter.get_finished_spans() if s.name == "execute_tool http_call")
    assert f"{call.context.trace_id:032x}" == CALLER_TRACE and f"{call.parent.span_id:016x}" == CALLER_SPAN
    assert received[0]["traceparent"].split("-")[1] == CALLER_TRACE
    with _fetch_runtime(url, tmp_path / "r2.sqlite3", tracing=False) as rt:
        assert rt.execute("http_call", fetch, traceparent=CALLER.upper()).ok
        assert rt.execute("http_call", fetch, traceparent="00-not-a-traceparent").ok
    assert received[1]["traceparent"] == CALLER and "traceparent" not in received[2]


def test_a_worker_resuming_a_submitted_run_continues_the_callers_trace(
    echo_server: Any, spans: Any, tmp_path: Path
) -> None:
    """The traceparent is kept with the run in the store: another runtime (a worker process)
    that resumes the queued run puts its spans and its requests in the caller's trace."""
    url, received = echo_server
    provider, exporter = spans
    store = tmp_path / "r.sqlite3"
    with _fetch_runtime(url, store, tracing=False) as api:
        queued = api.submit(_fetch_plan(url), traceparent=CALLER)
    assert queued.status == "queued"
    with _fetch_runtime(url, store, tracing=provider) as worker:
        assert worker.store.load_run(queued.run_id).traceparent == CALLER
        result = worker.run(resume=queued.run_id)
    assert result.ok, result
    run = next(s for s in exporter.get_finished_spans() if s.name == "aos.run")
    assert f"{run.context.trace_id:032x}" == CALLER_TRACE
    assert received[0]["traceparent"].split("-")[1] == CALLER_TRACE


def test_a_direct_call_is_a_child_of_the_current_span(spans: Any, tmp_path: Path) -> None:
    provider, exporter = spans
    tracer = provider.get_tracer("caller")
    plugin = FakePlugin(skills=[fake_skill("echo")])
    with Runtime(plugins=[plugin], entry_points=False, tracing=provider, store=tmp_path / "r.sqlite3") as rt:
        with tracer.start_as_current_span("caller"):
            assert rt.execute("echo", {"text": "x"}).ok
        assert rt.execute("echo", {"text": "y"}).ok
    assert _tree(exporter.get_finished_spans()) == {
        "None": ["caller", "execute_tool echo"],
        "caller": ["execute_tool echo"],
        "execute_tool echo": ["aos.attempt echo", "aos.attempt echo"],
    }


def test_replays_and_failures_mark_spans(spans: Any, tmp_path: Path) -> None:
    """A failed call's spans carry its code as error.type and an error status; a replay adds no span."""
    from aos_core import ErrorCode, SkillError

    def boom(params: Any, ctx: Any) -> Any:
        raise SkillError(ErrorCode.HTTP_4XX, "no")

    provider, exporter = spans
    plugin = FakePlugin(skills=[fake_skill("boom", fn=boom, failure_codes=[ErrorCode.HTTP_4XX]), fake_skill("echo")])
    with Runtime(plugins=[plugin], entry_points=False, tracing=provider, store=tmp_path / "r.sqlite3") as rt:
        assert rt.execute("boom", {"text": "x"}).error.code == ErrorCode.HTTP_4XX
        result = rt.run({"version": 1, "steps": [{"id": "a", "skill": "echo", "params": {"text": "y"}}]})
        count = len(exporter.get_finished_spans())
        assert rt.replay(result.run_id).matched
    finished = exporter.get_finished_spans()
    assert len(finished) == count
    failed = next(s for s in finished if s.name == "execute_tool boom")
    assert failed.attributes["error.type"] == "HTTP_4XX" and not failed.status.is_ok
