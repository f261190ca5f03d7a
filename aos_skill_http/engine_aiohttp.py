"""The `aiohttp` engine: an httpx2 transport over an aiohttp `ClientSession`, connecting through `AddressGuard`.

The httpx programming model stays (requests and responses are httpx2's, bodies are decoded by
httpx2, so gzip and the decoded-size limit work as with any httpx transport); aiohttp only moves
bytes. Where it connects:

* a host name goes to `GuardedResolver`, an aiohttp resolver that resolves it with the guard
  and returns only addresses the guard judged, so aiohttp dials what was judged (its DNS cache
  holds judged answers only, per client, hence per policy);
* an IP literal never reaches a resolver in aiohttp (it is dialled as written), so the
  transport judges it itself before handing the request over, read as the C library reads it
  (`127.1`, `2130706433`: recent aiohttp refuses such spellings, older ones dial them), and the
  same for a proxy's address.

A small body (`READ_AT_ONCE_BYTES`, with a Content-Length and no Content-Encoding) is read
before the response is returned and handed over as a `ReadBody`; any other body streams.

Imported lazily, from the seam (`transport.py`): it imports aiohttp.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import aiohttp  # noqa: TID253 - an engine of the seam; imported lazily, from transport.new_client
import httpx2 as httpx  # noqa: TID253 - same
from aiohttp.abc import AbstractResolver, ResolveResult  # noqa: TID253 - same
from yarl import URL

from aos_skill_http.connect import AddressGuard
from aos_skill_http.proxies import Proxies, ssl_context
from aos_skill_http.transport import ReadBody

__all__ = ["AiohttpTransport", "GuardedResolver"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
# A body no larger than this, with a Content-Length and no Content-Encoding, is read before the
# response is returned (one step instead of a stream); larger or encoded ones stream, so that the
# skill's limit on decoded bytes stops reading in time.
READ_AT_ONCE_BYTES = 64 * 1024

# Most specific first: the first row whose aiohttp type matches wins.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (aiohttp.ServerTimeoutError, httpx.TimeoutException),
    (aiohttp.ClientProxyConnectionError, httpx.ProxyError),
    (aiohttp.ClientHttpProxyError, httpx.ProxyError),
    (aiohttp.ClientConnectorError, httpx.ConnectError),
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),
    (aiohttp.ClientResponseError, httpx.RemoteProtocolError),
    (aiohttp.InvalidURL, httpx.LocalProtocolError),
    (aiohttp.NonHttpUrlClientError, httpx.UnsupportedProtocol),
    (aiohttp.ClientConnectionError, httpx.ReadError),
    (aiohttp.ClientError, httpx.TransportError),
)


class _HttpxErrors:
    """aiohttp's exceptions as httpx's, as every httpx transport must raise them."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, traceback: Any) -> None:
        if isinstance(exc, aiohttp.ClientError):
            for raised, mapped in _ERRORS:
                if isinstance(exc, raised):
                    raise mapped(str(exc) or type(exc).__name__) from exc


_httpx_errors = _HttpxErrors()


class GuardedResolver(AbstractResolver):
    """An aiohttp resolver that answers only with addresses the guard allowed (else raises its refusal)."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard

    async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list[ResolveResult]:
        addresses = await self.guard.resolve(host, port)
        return [
            {
                "hostname": host,
                "host": str(address),
                "port": port,
                "family": socket.AF_INET if address.version == 4 else socket.AF_INET6,
                "proto": 0,
                "flags": 0,
            }
            for address in addresses
        ]

    async def close(self) -> None:
        return None


class _ResponseStream(httpx.AsyncByteStream):
    """The body as aiohttp receives it; closing releases the connection (kept only if the body was read)."""

    __slots__ = ("_response",)

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _httpx_errors:
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


def _host_port(url: URL) -> tuple[str, int]:
    host = url.raw_host or ""
    return host, url.port or _DEFAULT_PORTS.get(url.scheme, 80)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """An httpx transport whose every connection, direct or to a proxy, goes through the guard.

    The session is made on first use (it binds to the running event loop). Proxies must be
    http:// (what aiohttp supports); a proxied request's target is judged too, as far as this
    machine can resolve it.
    """

    def __init__(self, guard: AddressGuard, proxies: Proxies | None = None) -> None:
        self._guard = guard
        self._proxies = proxies or Proxies()
        self._proxy_urls: dict[str, tuple[URL, aiohttp.BasicAuth | None]] = {}
        for proxy in (self._proxies.http, self._proxies.https):
            if proxy is not None and proxy not in self._proxy_urls:
                self._proxy_urls[proxy] = _proxy_url(proxy)
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: dict[tuple[float | None, ...], aiohttp.ClientTimeout] = {}

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self._guard),
            limit=100,
            limit_per_host=0,
            keepalive_timeout=5.0,
        )
        return aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),  # no cookie carries over from one call to the next
            trust_env=False,  # proxies come from `Proxies`, and only when the policy says so
            auto_decompress=False,  # httpx decodes, so the size limit counts decoded bytes
            timeout=aiohttp.ClientTimeout(),
            requote_redirect_url=False,
            # httpx set every header it means to send; aiohttp adds none of its own (no Content-Type
            # for a raw body, no second User-Agent)
            skip_auto_headers=("User-Agent", "Accept", "Accept-Encoding", "Content-Type"),
        )

    def _timeout(self, timeout: dict[str, float | None]) -> aiohttp.ClientTimeout:
        key = (timeout.get("connect"), timeout.get("read"), timeout.get("pool"))
        found = self._timeouts.get(key)
        if found is None:
            if len(self._timeouts) > 64:
                self._timeouts.clear()
            found = self._timeouts[key] = aiohttp.ClientTimeout(sock_connect=key[0], sock_read=key[1], connect=key[2])
        return found

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        session = self._session
        if session is None:
            session = self._session = self._new_session()
        url = request.url
        target = URL(str(url), encoded=True)
        if url.userinfo:  # httpx turned it into an Authorization header already
            target = target.with_user(None)
        host, port = _host_port(target)
        proxy_url = self._proxies.for_url(url.scheme, url.host) if self._proxies else None
        kwargs: dict[str, Any] = {}
        if proxy_url is None:
            self._guard.check_fixed(host, port)  # an IP literal is dialled as written: judge it here
        else:
            proxy, auth = self._proxy_urls[proxy_url]
            self._guard.check_fixed(*_host_port(proxy))
            await self._guard.check_proxied(host, port)
            kwargs["proxy"] = proxy
            if auth is not None:
                kwargs["proxy_headers"] = {"Proxy-Authorization": auth.encode()}
        if url.scheme == "https":
            kwargs["ssl"] = ssl_context()
        data: Any = None
        headers = request.headers.multi_items()
        try:
            if request.content:
                data = request.content
        except httpx.RequestNotRead:  # a streamed body: aiohttp frames it itself
            data = request.stream
            headers = [(name, value) for name, value in headers if name.lower() != "transfer-encoding"]
        timeout = request.extensions.get("timeout")
        with _httpx_errors:
            response = await session.request(
                request.method,
                target,
                headers=headers,
                data=data,
                allow_redirects=False,
                timeout=self._timeout(timeout) if timeout else aiohttp.ClientTimeout(),
                **kwargs,
            )
        stream: httpx.AsyncByteStream
        if _small(response):
            with _httpx_errors:
                stream = ReadBody(await response.read())
        else:
            stream = _ResponseStream(response)
        return httpx.Response(
            status_code=response.status,
            headers=response.raw_headers,
            stream=stream,
            extensions={"http_version": b"HTTP/1.1"},  # the reason phrase is the standard one for the status
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


def _small(response: aiohttp.ClientResponse) -> bool:
    length = response.content_length
    return length is not None and length <= READ_AT_ONCE_BYTES and "Content-Encoding" not in response.headers


def _proxy_url(proxy: str) -> tuple[URL, aiohttp.BasicAuth | None]:
    """The proxy URL without its credentials, and those credentials; `ValueError` for what aiohttp cannot use."""
    parsed = URL(proxy)
    if parsed.scheme != "http" or not parsed.raw_host:
        raise ValueError(f"proxy {parsed.with_password(None)!s}: the aiohttp engine supports http:// proxies only")
    auth = None
    if parsed.user is not None:
        auth = aiohttp.BasicAuth(parsed.user, parsed.password or "")
    return parsed.with_user(None), auth
