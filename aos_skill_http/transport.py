"""The seam: the httpx programming model on top, and the one engine that moves the bytes underneath.

Everything else in this package uses the httpx API through the `httpx` name exported here
(`httpx2`, pydantic's maintained continuation of httpx). Underneath runs one engine, an httpx2
transport over an aiohttp `ClientSession` (`engine_aiohttp.py`), which connects only through
`AddressGuard` (`connect.py`). One engine only: each one is more surface the address policy
must guard. Imported lazily, from `execute`: it imports httpx2, and the engine imports aiohttp.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx2 as httpx  # noqa: TID253 - the HTTP seam; this module is only imported lazily, from execute

from aos_core import NetworkPolicy
from aos_skill_http import __version__
from aos_skill_http.addresses import AllowList
from aos_skill_http.connect import AddressGuard, Resolver, system_resolver
from aos_skill_http.proxies import Proxies

__all__ = ["Clients", "Pooled", "ReadBody", "httpx", "new_client", "new_transport"]

USER_AGENT = f"aos-skill-http/{__version__}"
Transport = httpx.AsyncBaseTransport
# No per-phase timeouts: the whole call runs under one deadline (`asyncio.timeout`).
_EXTENSIONS: dict[str, Any] = {"timeout": {"connect": None, "read": None, "write": None, "pool": None}}
_BODILESS = frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
_EMPTY = httpx.ByteStream(b"")
_HOSTS_REMEMBERED = 256


class ReadBody(httpx.AsyncByteStream):
    """A response body its engine has already read in full (small and not content-encoded).

    The skill takes `body` as it is instead of iterating the stream; any other httpx code
    iterates it like any stream.
    """

    __slots__ = ("body",)

    def __init__(self, body: bytes) -> None:
        self.body = body

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self.body:
            yield self.body

    async def aclose(self) -> None:
        return None


def new_transport(guard: AddressGuard, proxies: Proxies | None = None) -> Transport:
    """The engine's httpx transport: every connection it opens, direct or to a proxy, goes through `guard`."""
    from aos_skill_http.engine_aiohttp import AiohttpTransport

    return AiohttpTransport(guard, proxies)


def new_client(guard: AddressGuard, trust_env_proxies: bool = False) -> httpx.AsyncClient:
    """A pooled client whose connections `guard` checks: no cookie jar, no automatic redirects.

    Proxy variables are read only with `trust_env_proxies` (and then the proxy is judged too).
    """
    proxies = Proxies.from_environment() if trust_env_proxies else Proxies()
    return _client(new_transport(guard, proxies), trust_env_proxies)


def _client(transport: Transport, trust_env_proxies: bool) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=transport,
        trust_env=trust_env_proxies,
        follow_redirects=False,  # followed one hop at a time by the skill, each hop checked
        cookies=_no_cookies(),
        headers={"user-agent": USER_AGENT},
    )


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: a shared client must not carry one call's cookies into the next."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class Pooled:
    """The pooled client of one network policy, as the skill drives it.

    `client` is an ordinary httpx `AsyncClient` over the engine's transport. The skill follows
    redirects, sends no cookies and sets the Authorization of URL credentials itself, hop by
    hop, so it sends each request straight through `transport`, with the client's headers.
    """

    __slots__ = ("_base", "_by_host", "client", "guard", "headers", "transport")

    def __init__(self, guard: AddressGuard, trust_env_proxies: bool) -> None:
        proxies = Proxies.from_environment() if trust_env_proxies else Proxies()
        self.guard = guard
        self.transport = new_transport(guard, proxies)
        self.client = _client(self.transport, trust_env_proxies)
        self.headers = self.client.headers
        self._base = self.headers.raw
        self._by_host: dict[bytes, httpx.Headers] = {}  # Host -> the headers of a request that adds none

    def request(
        self, method: str, url: httpx.URL, headers: Mapping[str, str], json: Any, content: str | None
    ) -> httpx.Request:
        """The request the client would build: its headers, then `headers`; no per-phase timeouts
        (the whole call runs under one deadline); Basic auth from credentials in the URL."""
        request = None
        if json is None and content is None and method in _BODILESS:
            request = self._bodiless(method, url, headers)
        if request is None:
            merged = httpx.Headers(self.headers)
            merged.update(headers)
            request = httpx.Request(method, url, headers=merged, json=json, content=content, extensions=_EXTENSIONS)
        if url.userinfo:
            next(httpx.BasicAuth(url.username, url.password).sync_auth_flow(request))  # sets Authorization
        return request

    def _bodiless(self, method: str, url: httpx.URL, headers: Mapping[str, str]) -> httpx.Request | None:
        """A request without a body, its headers laid out as httpx would (Host, the client's, then
        `headers`, replacing any of the client's by name), without httpx's content negotiation
        machinery; None when a header is not ASCII (left to httpx)."""
        host = url.netloc
        if not headers:
            laid_out = self._by_host.get(host)
            if laid_out is None:
                if len(self._by_host) >= _HOSTS_REMEMBERED:
                    self._by_host.clear()
                laid_out = self._by_host[host] = httpx.Headers([(b"Host", host), *self._base], encoding="ascii")
            return self._new(method, url, laid_out)
        try:
            extra = [(name.encode("ascii"), value.encode("ascii")) for name, value in headers.items()]
        except UnicodeEncodeError:
            return None
        names = {name.lower() for name, _ in extra}
        raw = [pair for pair in [(b"Host", host), *self._base] if pair[0].lower() not in names]
        return self._new(method, url, httpx.Headers(raw + extra, encoding="ascii"))

    @staticmethod
    def _new(method: str, url: httpx.URL, headers: httpx.Headers) -> httpx.Request:
        request = httpx.Request(method, url, headers=headers, stream=_EMPTY, extensions=_EXTENSIONS)
        request.read()  # b"": the content is known, as for any request httpx builds
        return request

    async def send(self, request: httpx.Request) -> httpx.Response:
        response = await self.transport.handle_async_request(request)
        response.request = request
        return response


class Clients:
    """The pooled clients of one runtime: one per network policy (in practice, exactly one).

    `ctx.resource` keeps one `Clients` per runtime and event loop, and closes it with the runtime.
    """

    def __init__(self, resolver: Resolver = system_resolver) -> None:
        self._resolver = resolver
        self._clients: dict[NetworkPolicy, Pooled] = {}
        self._last: tuple[NetworkPolicy, Pooled] | None = None

    def get(self, network: NetworkPolicy) -> Pooled:
        """The pooled client for `network`; `ValueError` for a malformed allow entry or proxy URL."""
        last = self._last
        if last is not None and last[0] is network:  # the same policy object as the call before
            return last[1]
        pooled = self._clients.get(network)
        if pooled is None:
            guard = AddressGuard(AllowList(network.allow), self._resolver)
            pooled = self._clients[network] = Pooled(guard, network.trust_env_proxies)
        self._last = (network, pooled)
        return pooled

    async def aclose(self) -> None:
        pooled, self._clients, self._last = list(self._clients.values()), {}, None
        for each in pooled:
            await each.client.aclose()
