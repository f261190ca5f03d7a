"""The seam: which HTTP library runs under the httpx programming model, and how it connects.

Everything else in this package uses the httpx API through the `httpx` name exported here
(today `httpx2`, pydantic's maintained continuation of httpx). To run on another library
(httpx itself, or an httpx transport over aiohttp), change this module and `connect.py`;
keep every connection going through `AddressGuard`.

Imported lazily, from `execute`: it imports the HTTP library.
"""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager
from functools import cache
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpcore2  # noqa: TID253 - the HTTP seam; this module is only imported lazily, from execute
import httpx2 as httpx  # noqa: TID253 - same

from aos_core import NetworkPolicy
from aos_skill_http import __version__
from aos_skill_http.addresses import AllowList
from aos_skill_http.connect import AddressGuard, GuardedBackend, Resolver, system_resolver

__all__ = ["Clients", "GuardedTransport", "httpx", "new_client"]

USER_AGENT = f"aos-skill-http/{__version__}"

# Most specific first: the first row whose httpcore type matches wins.
_CORE_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore2.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore2.ReadTimeout, httpx.ReadTimeout),
    (httpcore2.WriteTimeout, httpx.WriteTimeout),
    (httpcore2.PoolTimeout, httpx.PoolTimeout),
    (httpcore2.TimeoutException, httpx.TimeoutException),
    (httpcore2.ConnectError, httpx.ConnectError),
    (httpcore2.ReadError, httpx.ReadError),
    (httpcore2.WriteError, httpx.WriteError),
    (httpcore2.NetworkError, httpx.NetworkError),
    (httpcore2.ProxyError, httpx.ProxyError),
    (httpcore2.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore2.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore2.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore2.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore's exceptions as httpx's, as every httpx transport must raise them."""
    try:
        yield
    except Exception as exc:
        for core, mapped in _CORE_ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class _ResponseStream(httpx.AsyncByteStream):
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        closer = getattr(self._stream, "aclose", None)
        if closer is not None:
            with _httpx_errors():
                await closer()


@cache
def _ssl_context() -> ssl.SSLContext:
    """Built on the first https request (loading CA certificates is slow), then shared."""
    return httpx.create_ssl_context()


def _pool(backend: GuardedBackend, proxy: str | None, tls: bool) -> httpcore2.AsyncConnectionPool:
    core_proxy = None
    if proxy is not None:
        parsed = httpx.Proxy(proxy)
        url = parsed.url
        core_proxy = httpcore2.Proxy(
            url=httpcore2.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            auth=parsed.raw_auth,
            headers=parsed.headers.raw,
        )
    return httpcore2.AsyncConnectionPool(
        ssl_context=_ssl_context() if tls else None,
        proxy=core_proxy,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=backend,
    )


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose every connection, direct or to a proxy, goes through the guard.

    `proxies` maps a scheme to a proxy URL, and "no" to NO_PROXY (from the environment, when the
    policy trusts it); a proxied request's target is judged too, as far as this machine can
    resolve it. One connection pool per target scheme and route, made on first use.
    """

    def __init__(self, guard: AddressGuard, proxies: dict[str, str] | None = None) -> None:
        self._guard = guard
        self._backend = GuardedBackend(guard)
        self._proxies = {k: v for k, v in (proxies or {}).items() if k in ("http", "https")}
        self._no_proxy = (proxies or {}).get("no", "")
        self._pools: dict[tuple[str, str | None], httpcore2.AsyncConnectionPool] = {}

    def _pool_for(self, scheme: str, proxy: str | None) -> httpcore2.AsyncConnectionPool:
        pool = self._pools.get((scheme, proxy))
        if pool is None:
            pool = self._pools[scheme, proxy] = _pool(self._backend, proxy, tls=scheme == "https")
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        proxy = self._proxies.get(url.scheme)
        if proxy is not None and _bypassed(url.host, self._no_proxy):
            proxy = None
        if proxy is not None:
            await self._guard.check_proxied(url.host, url.port or (443 if url.scheme == "https" else 80))
        core_request = httpcore2.Request(
            method=request.method,
            url=httpcore2.URL(scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        with _httpx_errors():
            response = await self._pool_for(url.scheme, proxy).handle_async_request(core_request)
        assert isinstance(response.stream, AsyncIterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            await pool.aclose()


def _bypassed(host: str, no_proxy: str) -> bool:
    """NO_PROXY as curl and urllib read it: `*`, or host names matched with their subdomains."""
    host = host.lower().rstrip(".")
    for entry in no_proxy.split(","):
        name = entry.strip().lower().lstrip(".")
        if name.count(":") == 1:  # host:port; the port is not compared
            name = name.partition(":")[0]
        if name == "*" or (name and (host == name or host.endswith("." + name))):
            return True
    return False


def _environment_proxies() -> dict[str, str]:
    found = urllib.request.getproxies_environment()
    every = found.get("all")
    chosen = {scheme: found.get(scheme, every) for scheme in ("http", "https")}
    proxies = {scheme: url for scheme, url in chosen.items() if url}
    if "no" in found:
        proxies["no"] = found["no"]
    return proxies


def new_client(guard: AddressGuard, trust_env_proxies: bool = False) -> httpx.AsyncClient:
    """A pooled client whose connections `guard` checks: no cookie jar, no automatic redirects."""
    proxies = _environment_proxies() if trust_env_proxies else None
    return httpx.AsyncClient(
        transport=GuardedTransport(guard, proxies),
        trust_env=trust_env_proxies,
        follow_redirects=False,  # followed one hop at a time by the skill, each hop checked
        cookies=_no_cookies(),
        headers={"user-agent": USER_AGENT},
    )


def _no_cookies() -> CookieJar:
    """A jar that keeps nothing: a shared client must not carry one call's cookies into the next."""
    return CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))


class Clients:
    """The pooled clients of one runtime: one per network policy (in practice, exactly one).

    `ctx.resource` keeps one `Clients` per runtime and event loop, and closes it with the runtime.
    """

    def __init__(self, resolver: Resolver = system_resolver) -> None:
        self._resolver = resolver
        self._clients: dict[NetworkPolicy, tuple[httpx.AsyncClient, AddressGuard]] = {}

    def get(self, network: NetworkPolicy) -> tuple[httpx.AsyncClient, AddressGuard]:
        """The client for `network` and the guard its connections go through."""
        pooled = self._clients.get(network)
        if pooled is None:
            guard = AddressGuard(AllowList(network.allow), self._resolver)
            pooled = self._clients[network] = (new_client(guard, network.trust_env_proxies), guard)
        return pooled

    async def aclose(self) -> None:
        pooled, self._clients = list(self._clients.values()), {}
        for client, _ in pooled:
            await client.aclose()
