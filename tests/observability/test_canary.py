"""The secrets canary for observability: a secret's value never reaches a metric, a span or a log
line, in any encoding AOS redacts, even when a skill logs it, returns it, fails with it, reports
it as its model, or sends it in a prompt that content capture records."""

from __future__ import annotations

import base64
import io
import json
import logging
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aos_core import ErrorCode, Runtime, SkillError, configure_logging, render_metrics
from aos_core.testing import FakePlugin, fake_skill

CANARY = "canary-secret-7c1f0e2b9d4a51"


def _leaky(params: Any, ctx: Any) -> Any:
    secret = ctx.secrets.get("TOKEN")
    logging.getLogger("aos.skill.leaky").warning(
        "the token is %s (%s)", secret, base64.b64encode(secret.encode()).decode()
    )
    if params.text == "fail":
        raise SkillError(ErrorCode.HTTP_4XX, f"refused {secret}", details={"token": secret})
    return {"echo": secret, "model": f"model-{secret}"}


def _skills() -> list[Any]:
    from pydantic import BaseModel

    class LeakyOut(BaseModel):
        echo: str
        model: str

    leaky = fake_skill(
        "leaky", fn=_leaky, failure_codes=[ErrorCode.HTTP_4XX], output_model=LeakyOut, cost={"money_per_call": "0.01"}
    )
    leaky.gen_ai = lambda params, output: {  # a model call whose facts carry the secret
        "operation": "chat",
        "provider": "fake",
        "request_model": f"m-{CANARY}",
        "input_messages": [{"role": "user", "content": f"use {CANARY}"}],
        "output_messages": [{"role": "assistant", "content": str(output)}],
    }
    return [leaky]


def test_no_secret_in_metrics_spans_or_logs(registry: Any, spans: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv("AOS_TRACE_CONTENT", "1")  # even with content capture on
    provider, exporter = spans
    stream = io.StringIO()
    handler = configure_logging("DEBUG", stream)
    try:
        with Runtime(
            plugins=[FakePlugin(skills=_skills())],
            entry_points=False,
            secrets={"TOKEN": CANARY},
            metrics=registry,
            tracing=provider,
            logs=True,
            store=tmp_path / "r.sqlite3",
        ) as rt:
            rt.execute("leaky", {"text": "ok"})
            rt.execute("leaky", {"text": "fail"})
            result = rt.run(
                {"version": 1, "steps": [{"id": "a", "skill": "leaky", "params": {"text": "${secrets.TOKEN}"}}]}
            )
            assert result.ok, result
            body = render_metrics(registry=registry, store=rt.store)[0].decode()
    finally:
        logging.getLogger("aos").removeHandler(handler)
    finished = exporter.get_finished_spans()
    span_text = json.dumps(
        [{"name": s.name, "attributes": dict(s.attributes), "events": [e.name for e in s.events]} for s in finished],
        default=str,
    )
    logs = stream.getvalue()
    assert "[REDACTED:TOKEN]" in logs and "[REDACTED:TOKEN]" in span_text  # caught, not merely absent
    assert 'model="model-[REDACTED:TOKEN]"' in body
    encodings = [CANARY, base64.b64encode(CANARY.encode()).decode(), quote(CANARY, safe="")]
    for text, where in ((body, "metrics"), (span_text, "spans"), (logs, "logs")):
        leaks = [e for e in encodings if e in text]
        assert not leaks, f"the secret leaked into {where}: {text[:400]}"
