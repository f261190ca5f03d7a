"""http_call through the runtime against a real httpbin on 127.0.0.1: results, failures, limits."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from aos_core import ErrorCode, Runtime
from aos_core.testing import VirtualClock
from aos_skill_http.credentials import REDACTED

if TYPE_CHECKING:
    from conftest import Call, MakeRuntime, Server

pytestmark = pytest.mark.network  # a real httpbin on 127.0.0.1

# -- results ---------------------------------------------------------------------------------


def test_json_response_is_decoded(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/json")})
    assert outcome.ok, outcome.error
    out = outcome.output
    assert out["status"] == 200
    assert out["body_encoding"] == "json"
    assert out["body"]["slideshow"]["title"] == "Sample Slide Show"
    assert out["final_url"] == httpbin("/json")
    assert out["redirects"] == []
    assert out["elapsed_ms"] >= 0


def test_text_response_is_text(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/html")})
    assert outcome.output["body_encoding"] == "text"
    assert "Herman Melville" in outcome.output["body"]


def test_binary_response_is_base64(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/image/png")})
    assert outcome.output["body_encoding"] == "base64"
    assert base64.b64decode(outcome.output["body"]).startswith(b"\x89PNG")


def test_head_has_no_body(call: Call, httpbin: Server) -> None:
    outcome = call({"method": "HEAD", "url": httpbin("/get")})
    assert outcome.output["status"] == 200
    assert outcome.output["body"] is None


def test_query_params_are_added_to_the_url_query(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/get?a=1"), "params": {"b": "two", "c": [3, 4], "d": True}})
    assert outcome.output["body"]["args"] == {"a": "1", "b": "two", "c": ["3", "4"], "d": "true"}


def test_json_body_is_sent(call: Call, httpbin: Server) -> None:
    outcome = call({"method": "POST", "url": httpbin("/post"), "json": {"k": [1, "x", None]}})
    echoed = outcome.output["body"]
    assert echoed["json"] == {"k": [1, "x", None]}
    assert echoed["headers"]["Content-Type"] == "application/json"


def test_raw_content_is_sent(call: Call, httpbin: Server) -> None:
    outcome = call(
        {"method": "PUT", "url": httpbin("/put"), "content": "héllo", "headers": {"Content-Type": "text/plain"}}
    )
    assert outcome.output["body"]["data"] == "héllo"


def test_request_headers_are_sent(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/headers"), "headers": {"X-Trace": "abc"}})
    sent = outcome.output["body"]["headers"]
    assert sent["X-Trace"] == "abc"
    assert sent["User-Agent"].startswith("aos-skill-http/")


def test_credential_response_headers_are_redacted(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/response-headers?X-Api-Key=sekrit&Set-Cookie=s%3D1&X-Plain=shown")})
    headers = outcome.output["headers"]
    assert headers["x-api-key"] == REDACTED
    assert headers["set-cookie"] == REDACTED
    assert headers["x-plain"] == "shown"
    assert "sekrit" not in json.dumps(headers)


def test_cookies_never_carry_over_between_calls(call: Call, httpbin: Server) -> None:
    """The pooled client keeps no cookie jar: one call's cookies never reach the next."""
    first = call({"url": httpbin("/cookies/set?session=abc")})
    assert first.output["body"] == {"cookies": {}}
    assert call({"url": httpbin("/cookies")}).output["body"] == {"cookies": {}}


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/brotli"])
def test_compressed_bodies_are_decoded(call: Call, httpbin: Server, path: str) -> None:
    outcome = call({"url": httpbin(path)})
    assert outcome.output["body_encoding"] == "json"
    assert outcome.output["body"]["method"] == "GET"


def test_streamed_body_is_read_whole(call: Call, httpbin: Server) -> None:
    """/stream/N sends N JSON lines, chunked; NDJSON is not one JSON value, so it comes back as text."""
    outcome = call({"url": httpbin("/stream/20")})
    assert outcome.output["body_encoding"] == "text"
    lines = outcome.output["body"].splitlines()
    assert [json.loads(line)["id"] for line in lines] == list(range(20))


def test_async_api_runs_calls_concurrently_on_one_client(httpbin: Server) -> None:
    import aos_skill_http.plugin
    from aos_core import AgentProfile, NetworkPolicy, Policy

    async def main() -> list[bool]:
        policy = Policy(network=NetworkPolicy(allow=(httpbin.allow,)))
        async with Runtime(
            entry_points=False, plugins=[aos_skill_http.plugin], profile=AgentProfile(policy=policy)
        ) as rt:
            outcomes = await asyncio.gather(
                *(rt.aexecute("http_call", {"url": httpbin(f"/anything/{i}")}) for i in range(16))
            )
        return [o.ok and o.output["body"]["url"].endswith(f"/anything/{i}") for i, o in enumerate(outcomes)]

    assert all(asyncio.run(main()))


# -- statuses --------------------------------------------------------------------------------


def test_404_is_http_4xx_and_not_retried(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/status/404")})
    assert outcome.error.code == ErrorCode.HTTP_4XX
    assert not outcome.error.retryable
    assert outcome.attempts == 1
    assert outcome.error.details["status"] == 404


def test_4xx_details_carry_a_body_excerpt(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/status/418")})
    assert outcome.error.code == ErrorCode.HTTP_4XX
    assert "teapot" in outcome.error.message.lower()
    assert "-=[ teapot ]=-" in outcome.error.details["body"]
    assert len(outcome.error.details["body"]) <= 300


def test_500_is_http_5xx_and_retried_per_policy(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/status/500")})
    assert outcome.error.code == ErrorCode.HTTP_5XX
    assert outcome.error.retryable
    assert outcome.attempts == 3


def test_429_is_rate_limited_and_retried(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/status/429")})
    assert outcome.error.code == ErrorCode.RATE_LIMITED
    assert outcome.error.retry_after_ms is None
    assert outcome.attempts == 3


def test_429_carries_retry_after_in_seconds(call: Call, make_runtime: MakeRuntime, httpbin: Server) -> None:
    rt = make_runtime(httpbin.allow, max_attempts=1)
    outcome = call({"url": httpbin("/status/429?retry_after=7")}, rt)
    assert outcome.error.code == ErrorCode.RATE_LIMITED
    assert outcome.error.retry_after_ms == 7000
    assert "retry after 7000 ms" in outcome.error.message


def test_429_retry_after_date_is_read_on_the_run_clock(call: Call, make_runtime: MakeRuntime, httpbin: Server) -> None:
    clock = VirtualClock(start=datetime(2026, 1, 1, tzinfo=UTC))
    rt = make_runtime(httpbin.allow, max_attempts=1, clock=clock)
    date = "Thu, 01 Jan 2026 00:01:30 GMT"
    outcome = call({"url": httpbin("/status/429"), "params": {"retry_after": date}}, rt)
    assert outcome.error.retry_after_ms == 90_000


def test_retry_after_is_honoured_between_attempts(call: Call, make_runtime: MakeRuntime, httpbin: Server) -> None:
    """The runtime waits as long as the server asked (on a virtual clock, so instantly)."""
    clock = VirtualClock()
    rt = make_runtime(httpbin.allow, clock=clock)
    outcome = call({"url": httpbin("/status/503?retry_after=20")}, rt)
    assert outcome.error.code == ErrorCode.HTTP_5XX
    assert outcome.error.retry_after_ms == 20_000
    assert outcome.attempts == 3
    assert clock.monotonic() >= 40.0


# -- redirects -------------------------------------------------------------------------------


def test_relative_redirects_are_followed_and_listed(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/relative-redirect/3")})
    assert outcome.output["status"] == 200
    assert outcome.output["redirects"] == [
        httpbin("/relative-redirect/2"),
        httpbin("/relative-redirect/1"),
        httpbin("/get"),
    ]
    assert outcome.output["final_url"] == httpbin("/get")


def test_absolute_redirects_are_followed(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/absolute-redirect/2")})
    assert outcome.output["final_url"].endswith("/get")
    assert len(outcome.output["redirects"]) == 2


def test_too_many_redirects_fail(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/redirect/5"), "max_redirects": 2})
    assert outcome.error.code == ErrorCode.POLICY_VIOLATION
    assert outcome.error.details["rule"] == "max_redirects"
    assert len(outcome.error.details["redirects"]) == 2


def test_redirects_are_returned_when_not_followed(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/redirect/1"), "follow_redirects": False})
    assert outcome.output["status"] == 302
    assert outcome.output["headers"]["location"] == "/get"
    assert outcome.output["redirects"] == []


def test_307_keeps_method_and_body(call: Call, httpbin: Server) -> None:
    outcome = call(
        {
            "method": "POST",
            "url": httpbin("/redirect-to"),
            "params": {"url": "/post", "status_code": 307},
            "json": {"kept": True},
        }
    )
    assert outcome.output["body"]["json"] == {"kept": True}


def test_303_turns_post_into_get(call: Call, httpbin: Server) -> None:
    outcome = call(
        {
            "method": "POST",
            "url": httpbin("/redirect-to"),
            "params": {"url": "/get", "status_code": 303},
            "json": {"dropped": True},
        }
    )
    assert outcome.output["status"] == 200
    assert "Content-Type" not in outcome.output["body"]["headers"]


CREDENTIALS = {"Authorization": "Bearer t0k3n", "X-Api-Key": "k3y", "Cookie": "sid=1", "X-Plain": "kept"}


def test_credentials_are_dropped_on_a_cross_origin_redirect(call: Call, httpbin: Server, other: Server) -> None:
    outcome = call({"url": httpbin("/redirect-to"), "params": {"url": other("/headers")}, "headers": CREDENTIALS})
    received = outcome.output["body"]["headers"]
    assert outcome.output["final_url"] == other("/headers")
    assert received["X-Plain"] == "kept"
    assert not {"Authorization", "X-Api-Key", "Cookie"} & set(received)


def test_credentials_follow_a_same_origin_redirect(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/redirect-to"), "params": {"url": "/headers"}, "headers": CREDENTIALS})
    received = outcome.output["body"]["headers"]
    assert received["Authorization"] == "Bearer t0k3n"
    assert received["X-Api-Key"] == "k3y"


def test_url_credentials_authenticate_and_are_redacted(call: Call, httpbin: Server) -> None:
    url = f"http://user:pa55@127.0.0.1:{httpbin.port}/basic-auth/user/pa55"
    outcome = call({"url": url})
    assert outcome.output["body"] == {"authenticated": True, "user": "user"}
    assert outcome.output["final_url"] == f"http://user:{REDACTED}@127.0.0.1:{httpbin.port}/basic-auth/user/pa55"


# -- limits and failures ---------------------------------------------------------------------


def test_delay_past_the_timeout_is_timeout(call: Call, make_runtime: MakeRuntime, httpbin: Server) -> None:
    rt = make_runtime(httpbin.allow, max_attempts=1)
    outcome = call({"url": httpbin("/delay/3"), "timeout_ms": 250}, rt)
    assert outcome.error.code == ErrorCode.TIMEOUT
    assert outcome.error.retryable
    assert outcome.error.details["timeout_ms"] == 250
    assert outcome.error.details["url"] == httpbin("/delay/3")  # the skill's own deadline, shorter than the call's


def test_the_call_deadline_bounds_the_timeout(call: Call, make_runtime: MakeRuntime, httpbin: Server) -> None:
    """A policy timeout shorter than timeout_ms wins."""
    rt = make_runtime(httpbin.allow, max_attempts=1, timeouts_ms={"http_call": 250})
    outcome = call({"url": httpbin("/delay/3"), "timeout_ms": 60_000}, rt)
    assert outcome.error.code == ErrorCode.TIMEOUT


@pytest.mark.parametrize("path", ["/bytes/4096", "/stream-bytes/4096?chunk_size=256"])
def test_body_over_the_limit_fails(call: Call, httpbin: Server, path: str) -> None:
    outcome = call({"url": httpbin(path), "max_response_bytes": 1000})
    assert outcome.error.code == ErrorCode.OUTPUT_VALIDATION_FAILED
    assert outcome.error.details == {"rule": "max_response_bytes", "limit": 1000, "url": httpbin(path)}


def test_body_at_the_limit_passes(call: Call, httpbin: Server) -> None:
    outcome = call({"url": httpbin("/bytes/1000"), "max_response_bytes": 1000})
    assert outcome.ok
    assert len(base64.b64decode(outcome.output["body"])) == 1000


def test_the_limit_counts_decoded_bytes(call: Call, httpbin: Server) -> None:
    """/gzip sends about 180 compressed bytes that decode to about 220 (it echoes the request's headers)."""
    outcome = call({"url": httpbin("/gzip"), "max_response_bytes": 200})
    assert outcome.error.code == ErrorCode.OUTPUT_VALIDATION_FAILED


def test_closed_port_is_connection_failed(call: Call, make_runtime: MakeRuntime, closed_port: int) -> None:
    rt = make_runtime(f"127.0.0.1:{closed_port}")
    outcome = call({"url": f"http://127.0.0.1:{closed_port}/"}, rt)
    assert outcome.error.code == ErrorCode.CONNECTION_FAILED
    assert outcome.error.retryable
    assert outcome.attempts == 3


def test_unresolvable_host_is_dns_failure(call: Call) -> None:
    """Names under .invalid fail without asking any resolver (RFC 6761)."""
    outcome = call({"url": "http://no-such-host.invalid/"})
    assert outcome.error.code == ErrorCode.DNS_FAILURE
    assert outcome.error.details["host"] == "no-such-host.invalid"
    assert outcome.attempts == 3


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/",
        "http://",
        "example.com/path",
        "http://[::1/",
        "http://example.com:99999/",
        "file:///etc/passwd",
        # a URL parser drops CR, LF and tab without a word: another URL than the one given would go
        "http://127.0.0.1:1/a\r\nX-Injected: 1",
        "http://127.0.0.1:1/a\tb",
        "http://127.0.0.1:1/\x00",
    ],
)
def test_invalid_url_is_invalid_input(call: Call, url: str) -> None:
    outcome = call({"url": url})
    assert outcome.error.code == ErrorCode.INVALID_INPUT
    assert outcome.attempts == 1
    assert outcome.error.details["parameter"] == "url"  # what INVALID_INPUT's recovery text points at


@pytest.mark.parametrize("headers", [{"X-Bad": "a\r\nInjected: 1"}, {"X-Bad": "caf\u00e9"}, {"Bad Name": "x"}])
def test_bad_headers_fail_the_schema(make_runtime: MakeRuntime, httpbin: Server, headers: dict[str, str]) -> None:
    """Header injection and values that cannot be sent are refused before the skill runs."""
    outcome = make_runtime(httpbin.allow).execute("http_call", {"url": httpbin("/get"), "headers": headers})
    assert outcome.error.code == ErrorCode.SCHEMA_VALIDATION_FAILED


def test_json_and_content_together_fail_the_schema(make_runtime: MakeRuntime, httpbin: Server) -> None:
    """Caught by the runtime before the skill runs (a code the runtime adds, not the skill)."""
    rt = make_runtime(httpbin.allow)
    outcome = rt.execute("http_call", {"url": httpbin("/post"), "json": {}, "content": "x"})
    assert outcome.error.code == ErrorCode.SCHEMA_VALIDATION_FAILED


# -- secrets never follow a redirect or leak through an error ------------------------------------


SECRET = "s3cr3t-t0k3n-value"


def test_a_header_carrying_a_secret_is_dropped_on_a_cross_origin_redirect(
    call: Call, httpbin: Server, other: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whatever its name, a header whose value came from `${secrets...}` never reaches another origin."""
    monkeypatch.setenv("AOS_TEST_SECRET", SECRET)
    headers = {"X-Custom-Auth": "${secrets.AOS_TEST_SECRET}", "X-Plain": "kept"}
    target = {"url": other("/headers"), "status_code": "307"}
    outcome = call({"url": httpbin("/redirect-to"), "params": target, "headers": headers})
    received = outcome.output["body"]["headers"]
    assert outcome.output["final_url"] == other("/headers")
    assert received["X-Plain"] == "kept" and "X-Custom-Auth" not in received


def test_a_body_carrying_a_secret_never_follows_a_redirect_to_another_origin(
    call: Call, httpbin: Server, other: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 307 keeps the body; with a secret in it the redirect to another origin is refused."""
    monkeypatch.setenv("AOS_TEST_SECRET", SECRET)
    target = {"url": other("/post"), "status_code": "307"}
    body = {"token": "${secrets.AOS_TEST_SECRET}"}
    outcome = call({"method": "POST", "url": httpbin("/redirect-to"), "params": target, "json": body})
    assert outcome.error.code == ErrorCode.POLICY_VIOLATION and outcome.error.details["rule"] == "redirect_secrets"
    assert SECRET not in outcome.model_dump_json()


def test_a_secret_in_a_broken_url_never_leaks_a_prefix(
    call: Call, httpbin: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """urlsplit's port error quotes part of the user-info; the message must not."""
    monkeypatch.setenv("AOS_TEST_SECRET", "abcd/efgh-ijkl")
    outcome = call({"url": f"http://user:${{secrets.AOS_TEST_SECRET}}@127.0.0.1:{httpbin.port}/get"})
    assert outcome.error.code == ErrorCode.INVALID_INPUT
    shown = outcome.model_dump_json()
    assert "abcd" not in shown and "efgh" not in shown
