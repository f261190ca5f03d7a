"""Both engines under http_call (`skills.http_call.backend`): the same results and refusals, judged where they connect.

The rest of the suite runs on the default engine (or on the one `AOS_TEST_HTTP_BACKEND` names);
this module runs a representative set on each, then checks each engine's transport on its own,
without the skill's URL pre-check, so the refusals below come from the connection itself.
"""

from __future__ import annotations

import asyncio
import base64
import json
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from aos_core import ErrorCode, Runtime, StructuredOutcome

if TYPE_CHECKING:
    from conftest import MakeRuntime, Server

    from aos_skill_http.connect import Resolver

    ResolverFrom = Callable[[dict[str, list[str]]], Resolver]
    Untouched = Callable[[socket.socket], bool]

ENGINES = ("aiohttp", "httpx2")  # every value of skills.http_call.backend

pytestmark = pytest.mark.network  # a real httpbin on 127.0.0.1

CREDENTIALS = {"Authorization": "Bearer t0k3n", "X-Api-Key": "k3y", "Cookie": "sid=1", "X-Plain": "kept"}


@pytest.fixture(params=ENGINES)
def engine(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def on(make_runtime: MakeRuntime, engine: str) -> Callable[..., Runtime]:
    """`on(*allow, **options)`: a runtime whose http_call runs on this test's engine."""

    def make(*allow: str, **options: Any) -> Runtime:
        return make_runtime(*allow, backend=engine, **options)

    return make


def run(runtime: Runtime, params: dict[str, Any]) -> StructuredOutcome:
    return runtime.execute("http_call", params)


# -- results ---------------------------------------------------------------------------------


def test_get_post_and_headers(on: Callable[..., Runtime], httpbin: Server) -> None:
    rt = on(httpbin.allow)
    got = run(rt, {"url": httpbin("/get"), "params": {"q": "x"}, "headers": {"X-Trace": "abc"}})
    assert got.ok, got.error
    assert got.output["body"]["args"] == {"q": "x"}
    assert got.output["body"]["headers"]["X-Trace"] == "abc"
    assert got.output["body"]["headers"]["User-Agent"].startswith("aos-skill-http/")
    assert got.output["final_url"] == httpbin("/get?q=x")
    posted = run(rt, {"method": "POST", "url": httpbin("/post"), "json": {"k": [1, None]}})
    assert posted.output["body"]["json"] == {"k": [1, None]}
    assert posted.output["body"]["headers"]["Content-Type"] == "application/json"


def test_a_raw_body_is_sent_as_given(on: Callable[..., Runtime], httpbin: Server) -> None:
    """No Content-Type is made up for a raw body (aiohttp would add application/octet-stream)."""
    outcome = run(on(httpbin.allow), {"method": "PUT", "url": httpbin("/put"), "content": "héllo"})
    assert outcome.output["body"]["data"] == "héllo"
    assert "Content-Type" not in outcome.output["body"]["headers"]


def test_bodies_gzip_stream_binary_and_head(on: Callable[..., Runtime], httpbin: Server) -> None:
    rt = on(httpbin.allow)
    assert run(rt, {"url": httpbin("/gzip")}).output["body"]["gzipped"] is True
    streamed = run(rt, {"url": httpbin("/stream/5")}).output["body"].splitlines()
    assert [json.loads(line)["id"] for line in streamed] == list(range(5))
    png = run(rt, {"url": httpbin("/image/png")}).output
    assert base64.b64decode(png["body"]).startswith(b"\x89PNG")
    head = run(rt, {"method": "HEAD", "url": httpbin("/get")}).output
    assert (head["status"], head["body"]) == (200, None)


@pytest.mark.parametrize("path", ["/bytes/4096", "/stream-bytes/4096?chunk_size=256", "/gzip"])
def test_the_limit_counts_decoded_bytes(on: Callable[..., Runtime], httpbin: Server, path: str) -> None:
    outcome = run(on(httpbin.allow), {"url": httpbin(path), "max_response_bytes": 200})
    assert outcome.error.code == ErrorCode.OUTPUT_VALIDATION_FAILED
    assert outcome.error.details["rule"] == "max_response_bytes"


def test_statuses(on: Callable[..., Runtime], httpbin: Server) -> None:
    rt = on(httpbin.allow, max_attempts=1)
    assert run(rt, {"url": httpbin("/status/404")}).error.code == ErrorCode.HTTP_4XX
    assert run(rt, {"url": httpbin("/status/503")}).error.code == ErrorCode.HTTP_5XX
    limited = run(rt, {"url": httpbin("/status/429?retry_after=3")}).error
    assert (limited.code, limited.retry_after_ms) == (ErrorCode.RATE_LIMITED, 3000)


def test_cookies_never_carry_over(on: Callable[..., Runtime], httpbin: Server) -> None:
    rt = on(httpbin.allow)
    assert run(rt, {"url": httpbin("/cookies/set?session=abc")}).output["body"] == {"cookies": {}}
    assert run(rt, {"url": httpbin("/cookies")}).output["body"] == {"cookies": {}}


def test_url_credentials_authenticate(on: Callable[..., Runtime], httpbin: Server) -> None:
    url = f"http://user:pa55@127.0.0.1:{httpbin.port}/basic-auth/user/pa55"
    outcome = run(on(httpbin.allow), {"url": url})
    assert outcome.output["body"] == {"authenticated": True, "user": "user"}


def test_concurrent_calls_share_one_client(engine: str, httpbin: Server) -> None:
    import aos_skill_http.plugin
    from aos_core import AgentProfile, NetworkPolicy, Policy

    async def main() -> list[bool]:
        policy = Policy(network=NetworkPolicy(allow=(httpbin.allow,)))
        config = {"skills": {"http_call": {"backend": engine}}}
        async with Runtime(
            entry_points=False, plugins=[aos_skill_http.plugin], profile=AgentProfile(policy=policy), config=config
        ) as rt:
            outcomes = await asyncio.gather(
                *(rt.aexecute("http_call", {"url": httpbin(f"/anything/{i}")}) for i in range(24))
            )
        return [o.ok and o.output["body"]["url"].endswith(f"/anything/{i}") for i, o in enumerate(outcomes)]

    assert all(asyncio.run(main()))


# -- redirects -------------------------------------------------------------------------------


def test_redirects_are_followed_hop_by_hop(on: Callable[..., Runtime], httpbin: Server) -> None:
    outcome = run(on(httpbin.allow), {"url": httpbin("/relative-redirect/2")})
    assert outcome.output["redirects"] == [httpbin("/relative-redirect/1"), httpbin("/get")]


def test_credentials_never_follow_a_cross_origin_redirect(
    on: Callable[..., Runtime], httpbin: Server, other: Server
) -> None:
    rt = on(httpbin.allow, other.allow)
    outcome = run(rt, {"url": httpbin("/redirect-to"), "params": {"url": other("/headers")}, "headers": CREDENTIALS})
    received = outcome.output["body"]["headers"]
    assert received["X-Plain"] == "kept"
    assert not {"Authorization", "X-Api-Key", "Cookie"} & set(received)


@pytest.mark.parametrize("target", ["http://169.254.169.254/latest/", "http://localhost/", "http://10.0.0.1/"])
def test_a_redirect_to_a_refused_address_is_refused(on: Callable[..., Runtime], httpbin: Server, target: str) -> None:
    outcome = run(on(httpbin.allow), {"url": httpbin("/redirect-to"), "params": {"url": target}})
    assert outcome.error.code == ErrorCode.POLICY_VIOLATION
    assert outcome.error.details["url"] == target


# -- failures --------------------------------------------------------------------------------


def test_failures_map_to_their_codes(on: Callable[..., Runtime], httpbin: Server, closed_port: int) -> None:
    rt = on(httpbin.allow, f"127.0.0.1:{closed_port}", max_attempts=1)
    late = run(rt, {"url": httpbin("/delay/3"), "timeout_ms": 250}).error
    assert (late.code, late.details["timeout_ms"]) == (ErrorCode.TIMEOUT, 250)
    assert run(rt, {"url": f"http://127.0.0.1:{closed_port}/"}).error.code == ErrorCode.CONNECTION_FAILED
    assert run(rt, {"url": "http://nowhere.invalid/"}).error.code == ErrorCode.DNS_FAILURE


def test_the_policy_decides_on_resolved_addresses(
    on: Callable[..., Runtime], httpbin: Server, resolver_from: ResolverFrom
) -> None:
    names = resolver_from({"service.example": ["127.0.0.1"], "mixed.example": ["93.184.215.14", "10.0.0.7"]})
    rt = on(httpbin.allow, resolver=names)
    reached = run(rt, {"url": f"http://service.example:{httpbin.port}/get"})
    assert reached.ok, reached.error
    assert reached.output["body"]["headers"]["Host"] == f"service.example:{httpbin.port}"
    refused = run(rt, {"url": "http://mixed.example/"}).error
    assert (refused.code, refused.details["address"]) == (ErrorCode.POLICY_VIOLATION, "10.0.0.7")


def test_the_proxy_and_its_targets_are_judged(
    on: Callable[..., Runtime], other: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, other())
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    used = run(on(other.allow, trust_env_proxies=True), {"url": "http://proxied.invalid/get"})
    assert used.output["body"]["url"] == "http://proxied.invalid/get"
    unallowed = run(on(trust_env_proxies=True), {"url": "http://proxied.invalid/get"}).error
    assert (unallowed.code, unallowed.details["port"]) == (ErrorCode.POLICY_VIOLATION, other.port)
    target = run(on(other.allow, trust_env_proxies=True), {"url": "http://169.254.169.254/"}).error
    assert target.details["rule"] == "metadata"


# -- the configuration -----------------------------------------------------------------------


def test_an_unknown_engine_is_invalid_input(make_runtime: MakeRuntime, httpbin: Server) -> None:
    outcome = run(make_runtime(httpbin.allow, backend="curl"), {"url": httpbin("/get")})
    assert outcome.error.code == ErrorCode.INVALID_INPUT
    assert outcome.error.details["rule"] == "skills.http_call.backend"
    assert "'aiohttp', 'httpx2'" in outcome.error.message


def test_the_aiohttp_engine_takes_http_proxies_only(make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:1080")
    outcome = run(make_runtime(trust_env_proxies=True, backend="aiohttp"), {"url": "http://example.invalid/"})
    assert outcome.error.code == ErrorCode.INVALID_INPUT
    assert "http:// proxies only" in outcome.error.message


# -- each engine's transport alone: the check is where the connection is made -----------------


def _send(engine: str, url: str, allow: tuple[str, ...] = (), resolver: Any = None) -> int:
    """One GET through the engine's transport alone (no skill, so no URL pre-check); the status."""
    from aos_skill_http.addresses import AllowList
    from aos_skill_http.connect import AddressGuard, system_resolver
    from aos_skill_http.transport import new_transport

    async def main() -> int:
        guard = AddressGuard(AllowList(allow), resolver or system_resolver)
        transport = new_transport(guard, backend=engine)  # type: ignore[arg-type]
        try:
            response = await transport.handle_async_request(_request(url))
            await response.aread()
            await response.aclose()
            return response.status_code
        finally:
            await transport.aclose()

    return asyncio.run(main())


def _request(url: str) -> Any:
    from aos_skill_http.transport import httpx

    return httpx.Request("GET", url, headers={"user-agent": "test"})


@pytest.mark.parametrize("spelling", ["127.0.0.1", "[::ffff:127.0.0.1]", "localhost", "app.localhost."])
def test_the_transport_refuses_before_connecting(
    engine: str, spelling: str, listener: socket.socket, nothing_connected: Untouched
) -> None:
    from aos_skill_http.errors import AddressRefused

    port = listener.getsockname()[1]
    with pytest.raises(AddressRefused, match="loopback"):
        _send(engine, f"http://{spelling}:{port}/")
    assert nothing_connected(listener)


def test_the_transport_dials_only_what_the_guard_judged(
    engine: str, httpbin: Server, listener: socket.socket, nothing_connected: Untouched, resolver_from: ResolverFrom
) -> None:
    from aos_skill_http.errors import AddressRefused

    names = resolver_from({"ok.example": ["127.0.0.1"], "bad.example": ["127.0.0.1", "169.254.169.254"]})
    assert _send(engine, f"http://ok.example:{httpbin.port}/get", (httpbin.allow,), names) == 200
    port = listener.getsockname()[1]
    with pytest.raises(AddressRefused, match="metadata"):
        _send(engine, f"http://bad.example:{port}/", ("127.0.0.1",), names)
    assert nothing_connected(listener)


def test_the_aiohttp_resolver_answers_with_judged_addresses_only(resolver_from: ResolverFrom) -> None:
    from aos_skill_http.addresses import AllowList
    from aos_skill_http.connect import AddressGuard
    from aos_skill_http.engine_aiohttp import GuardedResolver
    from aos_skill_http.errors import AddressRefused

    names = resolver_from({"two.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]})
    guard = AddressGuard(AllowList(("10.0.0.0/8",)), names)
    answers = asyncio.run(GuardedResolver(guard).resolve("two.example", 443))
    assert [(a["host"], a["port"], a["family"]) for a in answers] == [
        ("93.184.215.14", 443, socket.AF_INET),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", 443, socket.AF_INET6),
    ]
    assert [a["host"] for a in asyncio.run(GuardedResolver(guard).resolve("10.1.2.3", 80))] == ["10.1.2.3"]
    with pytest.raises(AddressRefused):
        asyncio.run(GuardedResolver(guard).resolve("localhost", 80))


def test_a_streamed_request_body_is_sent(engine: str, httpbin: Server) -> None:
    """Through the transport alone: a body httpx streams reaches the server whole (with a length:
    httpbin's server refuses chunked requests)."""
    from aos_skill_http.addresses import AllowList
    from aos_skill_http.connect import AddressGuard
    from aos_skill_http.transport import httpx, new_transport

    async def parts() -> Any:
        for part in (b"ab", b"cd"):
            yield part

    async def main() -> Any:
        transport = new_transport(AddressGuard(AllowList((httpbin.allow,))), backend=engine)  # type: ignore[arg-type]
        try:
            request = httpx.Request("POST", httpbin("/post"), content=parts(), headers={"Content-Length": "4"})
            response = await transport.handle_async_request(request)
            body = json.loads(await response.aread())
            await response.aclose()
            return body
        finally:
            await transport.aclose()

    assert asyncio.run(main())["data"] == "abcd"
