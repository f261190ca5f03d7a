"""The one engine under http_call (aiohttp), judged where it connects, and the setting it replaced.

The rest of the suite drives the engine through the skill. Here: what only this engine could get
wrong (a header aiohttp would add on its own, proxies it cannot take), the refusal of the old
`skills.http_call.backend` setting, and the transport on its own, without the skill's URL
pre-check, so the refusals below come from the connection itself.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from aos_core import ErrorCode

if TYPE_CHECKING:
    from conftest import MakeRuntime, Server

    from aos_skill_http.connect import Resolver

    ResolverFrom = Callable[[dict[str, list[str]]], Resolver]
    Untouched = Callable[[socket.socket], bool]

pytestmark = pytest.mark.network  # a real httpbin on 127.0.0.1


def test_a_raw_body_is_sent_as_given(make_runtime: MakeRuntime, httpbin: Server) -> None:
    """No Content-Type is made up for a raw body (aiohttp would add application/octet-stream)."""
    params = {"method": "PUT", "url": httpbin("/put"), "content": "héllo"}
    outcome = make_runtime(httpbin.allow).execute("http_call", params)
    assert outcome.output["body"]["data"] == "héllo"
    assert "Content-Type" not in outcome.output["body"]["headers"]


@pytest.mark.parametrize("value", ["httpx2", "aiohttp"])
def test_the_old_backend_setting_is_invalid_input_naming_the_key(
    make_runtime: MakeRuntime, httpbin: Server, value: str
) -> None:
    """There is one engine: a configuration that still chooses one is told so, whatever it names."""
    runtime = make_runtime(httpbin.allow, config={"backend": value})
    outcome = runtime.execute("http_call", {"url": httpbin("/get")})
    assert outcome.error.code == ErrorCode.INVALID_INPUT and outcome.attempts == 1
    assert outcome.error.details["rule"] == "skills.http_call.backend"
    assert "skills.http_call.backend" in outcome.error.message and "remove the key" in outcome.error.message


def test_the_engine_takes_http_proxies_only(make_runtime: MakeRuntime, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "socks5://127.0.0.1:1080")
    outcome = make_runtime(trust_env_proxies=True).execute("http_call", {"url": "http://example.invalid/"})
    assert outcome.error.code == ErrorCode.INVALID_INPUT
    assert "http:// proxies only" in outcome.error.message


# -- the transport alone: the check is where the connection is made ---------------------------


def _send(url: str, allow: tuple[str, ...] = (), resolver: Any = None) -> int:
    """One GET through the transport alone (no skill, so no URL pre-check); the status."""
    from aos_skill_http.addresses import AllowList
    from aos_skill_http.connect import AddressGuard, system_resolver
    from aos_skill_http.transport import new_transport

    async def main() -> int:
        guard = AddressGuard(AllowList(allow), resolver or system_resolver)
        transport = new_transport(guard)
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
    spelling: str, listener: socket.socket, nothing_connected: Untouched
) -> None:
    from aos_skill_http.errors import AddressRefused

    port = listener.getsockname()[1]
    with pytest.raises(AddressRefused, match="loopback"):
        _send(f"http://{spelling}:{port}/")
    assert nothing_connected(listener)


def test_the_transport_dials_only_what_the_guard_judged(
    httpbin: Server, listener: socket.socket, nothing_connected: Untouched, resolver_from: ResolverFrom
) -> None:
    from aos_skill_http.errors import AddressRefused

    names = resolver_from({"ok.example": ["127.0.0.1"], "bad.example": ["127.0.0.1", "169.254.169.254"]})
    assert _send(f"http://ok.example:{httpbin.port}/get", (httpbin.allow,), names) == 200
    port = listener.getsockname()[1]
    with pytest.raises(AddressRefused, match="metadata"):
        _send(f"http://bad.example:{port}/", ("127.0.0.1",), names)
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


def test_a_streamed_request_body_is_sent(httpbin: Server) -> None:
    """Through the transport alone: a body httpx streams reaches the server whole (with a length:
    httpbin's server refuses chunked requests)."""
    from aos_skill_http.addresses import AllowList
    from aos_skill_http.connect import AddressGuard
    from aos_skill_http.transport import httpx, new_transport

    async def parts() -> Any:
        for part in (b"ab", b"cd"):
            yield part

    async def main() -> Any:
        transport = new_transport(AddressGuard(AllowList((httpbin.allow,))))
        try:
            request = httpx.Request("POST", httpbin("/post"), content=parts(), headers={"Content-Length": "4"})
            response = await transport.handle_async_request(request)
            body = json.loads(await response.aread())
            await response.aclose()
            return body
        finally:
            await transport.aclose()

    assert asyncio.run(main())["data"] == "abcd"
