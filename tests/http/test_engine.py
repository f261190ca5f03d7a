"""The one engine under http_call (aiohttp), judged where it connects, and the setting it replaced.

The rest of the suite drives the engine through the skill. Here: what only this engine could get
wrong (a header aiohttp would add on its own, proxies it cannot take), the refusal of the old
`skills.http_call.backend` setting, and the transport on its own, without the skill's URL
pre-check, so the refusals below come from the connection itself.
"""

from __future__ import annotations

import asyncio
import base64
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
    """One GET through the seam alone (`Pooled.send`: no skill, so no URL pre-check); the status."""
    from yarl import URL

    from aos_skill_http.addresses import AllowList
    from aos_skill_http.connect import AddressGuard, system_resolver
    from aos_skill_http.transport import Pooled

    async def main() -> int:
        pooled = Pooled(AddressGuard(AllowList(allow), resolver or system_resolver))
        try:
            response = await pooled.send("GET", URL(url), {"User-Agent": "test"}, None)
            await response.read()
            response.release()
            return response.status
        finally:
            await pooled.aclose()

    return asyncio.run(main())


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
    from aos_skill_http.errors import AddressRefused
    from aos_skill_http.transport import GuardedResolver

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


def _undecodable(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Encoding", "gzip")])
    return [b"this is not gzip at all"]


def test_a_body_that_cannot_be_decoded_is_output_validation_failed(make_runtime: MakeRuntime) -> None:
    """aiohttp decodes as the body arrives; a body it cannot decode is the server's fault, said so."""
    from .conftest import _serve

    for server in _serve(_undecodable):
        outcome = make_runtime(server.allow).execute("http_call", {"url": server("/")})
        assert outcome.error.code == ErrorCode.OUTPUT_VALIDATION_FAILED, outcome.error
        assert "cannot be decoded" in outcome.error.message


def _uncarried_json(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [b"[" * 202 + b"]" * 202 if environ["PATH_INFO"] == "/deep" else b'{"a": "\\ud800"}']


def test_json_the_output_cannot_carry_comes_back_as_text(make_runtime: MakeRuntime) -> None:
    """A JSON body nested too deep, or with a lone surrogate escape, is the response's text, not a
    failed call (it was OUTPUT_VALIDATION_FAILED when the runtime could not serialise the parsed body)."""
    from .conftest import _serve

    for server in _serve(_uncarried_json):
        rt = make_runtime(server.allow)
        deep = rt.execute("http_call", {"url": server("/deep")})
        assert deep.ok and deep.output["body_encoding"] == "text", deep.error
        assert deep.output["body"] == "[" * 202 + "]" * 202
        lone = rt.execute("http_call", {"url": server("/lone")})
        assert lone.ok and lone.output["body"] == '{"a": "\\ud800"}', lone.error


def test_a_large_body_streams_and_stops_at_the_limit(make_runtime: MakeRuntime, httpbin: Server) -> None:
    """A chunked body with no length is read as it arrives and given up once past the limit."""
    rt = make_runtime(httpbin.allow)
    url = httpbin("/stream-bytes/100000?chunk_size=4096")  # httpbin's largest
    whole = rt.execute("http_call", {"url": url})
    assert whole.ok and len(base64.b64decode(whole.output["body"])) == 100_000
    cut = rt.execute("http_call", {"url": url, "max_response_bytes": 10_000})
    assert cut.error.code == ErrorCode.OUTPUT_VALIDATION_FAILED and cut.error.details["limit"] == 10_000


def _request_target(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["REQUEST_URI"].encode()]


def test_an_encoded_url_is_sent_as_written(make_runtime: MakeRuntime) -> None:
    """A signed URL's escapes (`%2F`, `%3F`, `%2B`) reach the server as written; `params` are encoded
    as `urlencode` does; a URL with a space or non-ASCII text is encoded first."""
    from .conftest import _serve

    for server in _serve(_request_target):
        rt = make_runtime(server.allow)
        signed = "/o?sig=a%2Bb%2Fc%3D&next=%3Fx"
        assert rt.execute("http_call", {"url": server(signed)}).output["body"] == signed
        added = rt.execute("http_call", {"url": server("/o?a=1"), "params": {"k": "a/b c", "on": True}})
        assert added.output["body"] == "/o?a=1&k=a%2Fb+c&on=true"
        assert rt.execute("http_call", {"url": server("/caf\u00e9")}).output["body"] == "/caf%C3%A9"


def _latin1_header(environ: dict[str, Any], start_response: Any) -> Any:
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Name", "caf\u00e9")])  # sent as Latin-1
    return [b"ok"]


def test_a_header_beyond_ascii_is_read_as_text(make_runtime: MakeRuntime) -> None:
    """A Latin-1 header value comes back as text (aiohttp would keep its byte as a lone surrogate)."""
    from .conftest import _serve

    for server in _serve(_latin1_header):
        outcome = make_runtime(server.allow).execute("http_call", {"url": server("/")})
        assert outcome.ok, outcome.error
        assert outcome.output["headers"]["x-name"] == "caf\u00e9"
