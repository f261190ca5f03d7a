"""The `httpx2` engine: httpx2's own connection pool (httpcore2), connecting through `AddressGuard`.

`GuardedBackend` is an httpcore network backend that resolves the host with the guard and
dials one of the addresses it judged; `GuardedTransport` is an httpx transport with one pool
per scheme and route (direct or through a proxy) over that backend. Imported lazily, from the
seam (`transport.py`): it imports httpcore2 and anyio.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator
from contextlib import contextmanager

import anyio
import httpcore2  # noqa: TID253 - an engine of the seam; imported lazily, from transport.new_client
import httpx2 as httpx  # noqa: TID253 - same

from aos_skill_http.connect import AddressGuard
from aos_skill_http.proxies import Proxies, ssl_context

__all__ = ["GuardedBackend", "GuardedTransport"]

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


class GuardedBackend(httpcore2.AsyncNetworkBackend):
    """An httpcore network backend that connects only to addresses the guard allowed."""

    def __init__(self, guard: AddressGuard, inner: httpcore2.AsyncNetworkBackend | None = None) -> None:
        self.guard = guard
        self.inner = inner or httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        try:
            with anyio.fail_after(timeout):
                addresses = await self.guard.resolve(host, port)
                failure: httpcore2.ConnectError | None = None
                for address in addresses:  # in resolver order, like the C library's connect loop
                    try:
                        return await self.inner.connect_tcp(
                            str(address), port, local_address=local_address, socket_options=socket_options
                        )
                    except httpcore2.ConnectError as exc:
                        failure = exc
                raise failure or httpcore2.ConnectError(f"no address to connect to for {host}")
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(f"connecting to {host}:{port} timed out") from exc

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise httpcore2.ConnectError("http_call does not connect to unix sockets")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)


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
        ssl_context=ssl_context() if tls else None,
        proxy=core_proxy,
        max_connections=100,
        max_keepalive_connections=20,
        keepalive_expiry=5.0,
        network_backend=backend,
    )


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose every connection, direct or to a proxy, goes through the guard.

    A proxied request's target is judged too, as far as this machine can resolve it. One
    connection pool per target scheme and route, made on first use.
    """

    def __init__(self, guard: AddressGuard, proxies: Proxies | None = None) -> None:
        self._guard = guard
        self._backend = GuardedBackend(guard)
        self._proxies = proxies or Proxies()
        self._pools: dict[tuple[str, str | None], httpcore2.AsyncConnectionPool] = {}

    def _pool_for(self, scheme: str, proxy: str | None) -> httpcore2.AsyncConnectionPool:
        pool = self._pools.get((scheme, proxy))
        if pool is None:
            pool = self._pools[scheme, proxy] = _pool(self._backend, proxy, tls=scheme == "https")
        return pool

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        proxy = self._proxies.for_url(url.scheme, url.host)
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
