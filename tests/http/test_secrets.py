"""Secrets handed to http_call never come back in any form, and never follow a redirect to another
origin: not in an error message (URL-encoded in a query, or a piece of URL user-info), not in a
header or a body sent on a cross-origin hop."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

import aos_skill_http.plugin
from aos_core import AgentProfile, ErrorCode, NetworkPolicy, Policy, RetryPolicy, Runtime

from .conftest import CountingServer, Server

SECRET = "s3cr3t/token+value=42"
FORMS = (
    SECRET,
    "s3cr3t",  # a piece of it
    quote(SECRET, safe=""),
    quote_plus(SECRET, safe=""),
    base64.b64encode(SECRET.encode()).decode(),
    json.dumps(SECRET)[1:-1],
)


@pytest.fixture
def runtime(httpbin: Server, other: Server, counting: CountingServer) -> Iterator[Runtime]:
    policy = Policy(
        network=NetworkPolicy(allow=(httpbin.allow, other.allow, counting.allow)),
        retry=RetryPolicy(max_attempts=1),
    )
    with Runtime(
        entry_points=False,
        plugins=[aos_skill_http.plugin],
        profile=AgentProfile(policy=policy),
        secrets={"TOKEN": SECRET},
    ) as rt:
        yield rt


def leaked(outcome: Any) -> list[str]:
    shown = outcome.model_dump_json()
    return [form for form in FORMS if form in shown]


def test_a_secret_in_query_params_is_never_shown_url_encoded(runtime: Runtime, counting: CountingServer) -> None:
    """A 404 names the URL it called; the secret in its query is redacted in its encoded form too."""
    outcome = runtime.execute("http_call", {"url": counting("/status/404"), "params": {"key": "${secrets.TOKEN}"}})
    assert outcome.error.code == ErrorCode.HTTP_4XX and "[REDACTED:TOKEN]" in outcome.error.message
    assert not leaked(outcome)


def test_a_secret_in_url_user_info_never_leaks_through_a_url_error(runtime: Runtime, counting: CountingServer) -> None:
    """A password with a `/` breaks URL parsing early; the error must not quote a piece of it."""
    outcome = runtime.execute("http_call", {"url": f"http://user:${{secrets.TOKEN}}@127.0.0.1:{counting.port}/ok"})
    assert not outcome.ok and outcome.error.code == ErrorCode.INVALID_INPUT
    assert not leaked(outcome)


def test_a_header_carrying_a_secret_is_dropped_on_a_cross_origin_redirect(
    runtime: Runtime, httpbin: Server, other: Server
) -> None:
    """Not only Authorization: any header whose value came from a secret stays with its origin."""
    params = {
        "url": httpbin("/redirect-to"),
        "params": {"url": other("/headers")},
        "headers": {"X-Token": "${secrets.TOKEN}", "X-Plain": "kept"},
    }
    outcome = runtime.execute("http_call", params)
    received = outcome.output["body"]["headers"]
    assert outcome.output["final_url"] == other("/headers") and received["X-Plain"] == "kept"
    assert "X-Token" not in received


def test_a_header_carrying_a_secret_follows_a_same_origin_redirect(runtime: Runtime, httpbin: Server) -> None:
    """The same header is kept when the redirect stays on its origin (and shown redacted)."""
    params = {"url": httpbin("/redirect-to"), "params": {"url": "/headers"}, "headers": {"X-Token": "${secrets.TOKEN}"}}
    outcome = runtime.execute("http_call", params)
    assert outcome.output["body"]["headers"]["X-Token"] == "[REDACTED:TOKEN]"


def test_a_body_carrying_a_secret_is_not_sent_to_another_origin(
    runtime: Runtime, httpbin: Server, other: Server
) -> None:
    """A 307 to another origin would resend the body: with a secret in it, the redirect is refused."""
    params = {
        "method": "POST",
        "url": httpbin("/redirect-to"),
        "params": {"url": other("/post"), "status_code": 307},
        "json": {"api_key": "${secrets.TOKEN}"},
    }
    outcome = runtime.execute("http_call", params)
    assert outcome.error is not None and outcome.error.code == ErrorCode.POLICY_VIOLATION, outcome
    assert not leaked(outcome)
