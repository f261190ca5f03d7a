"""Structured logs: JSON Lines when the stream is not a terminal, the run, step and trace ids on
every line (a skill's own log lines included), one event per step outcome."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aos_core import ErrorCode, Runtime, SkillError, configure_logging
from aos_core.testing import FakePlugin, fake_skill


@pytest.fixture
def log_stream() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = configure_logging("INFO", stream)
    yield stream
    logging.getLogger("aos").removeHandler(handler)


def _chatty(params: Any, ctx: Any) -> Any:
    logging.getLogger("aos.skill.chatty").info("working on %s", params.text)
    if params.text == "fail":
        raise SkillError(ErrorCode.HTTP_4XX, "the service said no")
    return {"echo": params.text}


PLAN = {
    "version": 1,
    "steps": [
        {"id": "one", "skill": "chatty", "params": {"text": "a"}},
        {"id": "two", "skill": "chatty", "params": {"text": "b"}},
        {"id": "three", "skill": "chatty", "params": {"text": "fail"}},
    ],
}


def _runtime(tmp_path: Path, **kwargs: Any) -> Runtime:
    plugin = FakePlugin(skills=[fake_skill("chatty", fn=_chatty, failure_codes=[ErrorCode.HTTP_4XX])])
    return Runtime(plugins=[plugin], entry_points=False, store=tmp_path / "r.sqlite3", **kwargs)


def test_every_line_is_json_with_the_run_step_and_trace_ids(
    log_stream: io.StringIO, spans: Any, tmp_path: Path
) -> None:
    provider, exporter = spans
    with _runtime(tmp_path, logs=True, tracing=provider) as rt:
        result = rt.run(PLAN)
    assert result.status == "failed"
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert lines
    trace_ids = {f"{s.context.trace_id:032x}" for s in exporter.get_finished_spans()}
    for line in lines:
        assert line["run_id"] == result.run_id, line
        assert line["step_id"] in {"one", "two", "three"}, line
        assert line["trace_id"] in trace_ids, line
    events = [line for line in lines if line.get("event") == "step_outcome"]
    assert sorted(e["step_id"] for e in events) == ["one", "three", "two"]  # one per step outcome
    failed = next(e for e in events if e["step_id"] == "three")
    assert failed["level"] == "warning" and failed["code"] == "HTTP_4XX" and failed["category"] == "PERMANENT"
    assert failed["ok"] is False and failed["attempts"] == 1 and failed["skill"] == "chatty"
    own = [line for line in lines if line["logger"] == "aos.skill.chatty"]
    assert len(own) == 3 and own[0]["message"] == "working on a"


def test_without_tracing_the_callers_trace_id_is_on_every_line(log_stream: io.StringIO, tmp_path: Path) -> None:
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    with _runtime(tmp_path, logs=True, tracing=False) as rt:
        rt.run(PLAN, traceparent=caller)
    lines = [json.loads(line) for line in log_stream.getvalue().splitlines()]
    assert lines and {line["trace_id"] for line in lines} == {"0af7651916cd43dd8448eb211c80319c"}


def test_a_terminal_gets_text_lines(tmp_path: Path) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    handler = configure_logging("INFO", stream)
    try:
        with _runtime(tmp_path, logs=True) as rt:
            rt.execute("chatty", {"text": "x"})
    finally:
        logging.getLogger("aos").removeHandler(handler)
    text = stream.getvalue()
    assert "info    aos.steps: chatty ok" in text and "step_id=exec-1" in text
    assert not text.lstrip().startswith("{")


def test_logs_off_emit_no_step_events(log_stream: io.StringIO, tmp_path: Path) -> None:
    with _runtime(tmp_path, logs=False) as rt:
        rt.run(PLAN)
    assert "step_outcome" not in log_stream.getvalue()
