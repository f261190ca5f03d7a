"""The seam: http_call speaks aiohttp natively, and every connection goes through `AddressGuard`.

One engine, aiohttp, and no layer over it: the skill (`call.py`) hands `Pooled.send` a method,
a yarl URL, headers and a body, and reads the aiohttp response itself. Issue 21: the httpx2
request and response objects that wrapped each call cost more than aiohttp itself; without them
(and without a second deadline per call) `http_call` at 64 in flight went from 0.41-0.42x raw
aiohttp to 0.45-0.59x (six full runs of `bench/run.py --cases 3`, medians of per-round ratios;
0.57x and 0.59x in the two quietest, spread 0.32-0.71x), and this send path alone from
0.70-0.74x to 1.13-1.47x (no timer armed per request: the call's deadline is the
runtime's or the skill's). The rest is the skill's output and the runtime: docs/performance.md,
"Where AOS stands". One engine only: each one is more surface the address policy must guard.

Where it connects:

* a host name goes to `GuardedResolver`, an aiohttp resolver that resolves it with the guard
  and returns only addresses the guard judged, so aiohttp dials what was judged (its DNS cache
  holds judged answers only, per session, hence per policy);
* an IP literal never reaches a resolver in aiohttp (it is dialled as written), so `send`
  judges it itself first, read as the C library reads it (`127.1`, `2130706433`), and the same
  for a proxy's address; a proxied request's target is judged too, as far as this machine can
  resolve it.

The session keeps no cookies, reads no proxy variables (they come from `Proxies`, only when the
policy says so), adds no Content-Type of its own and decodes gzip, deflate (and brotli or zstd
when their packages are installed) as the body arrives, so the skill's size limit counts decoded
bytes. Imported lazily, from `call.py`: it imports aiohttp.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

import aiohttp  # noqa: TID253 - the HTTP seam; this module is only imported lazily, from execute
from aiohttp.abc import AbstractResolver, ResolveResult  # noqa: TID253 - same
from yarl import URL

from aos_core import NetworkPolicy
from aos_skill_http import __version__
from aos_skill_http.addresses import AllowList
from aos_skill_http.connect import AddressGuard, Resolver, system_resolver
from aos_skill_http.proxies import Proxies

__all__ = ["USER_AGENT", "Clients", "GuardedResolver", "Pooled", "Response"]

USER_AGENT = f"aos-skill-http/{__version__}"
Response = aiohttp.ClientResponse
_DEFAULT_PORTS = {"http": 80, "https": 443}
_NO_TIMEOUT = aiohttp.ClientTimeout()  # the whole call runs under one deadline (`asyncio.timeout`)


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


def _host_port(url: URL) -> tuple[str, int]:
    return url.raw_host or "", url.port or _DEFAULT_PORTS.get(url.scheme, 80)


def _proxy_url(proxy: str) -> tuple[URL, dict[str, str] | None]:
    """The proxy URL without its credentials, and the header carrying them; `ValueError` for what aiohttp cannot use."""
    parsed = URL(proxy)
    if parsed.scheme != "http" or not parsed.raw_host:
        raise ValueError(f"proxy {parsed.with_password(None)!s}: http_call supports http:// proxies only")
    headers = None
    if parsed.user is not None:
        headers = {"Proxy-Authorization": aiohttp.BasicAuth(parsed.user, parsed.password or "").encode()}
    return parsed.with_user(None), headers


class Pooled:
    """The pooled aiohttp session of one network policy, and the guard its every connection goes through.

    The session is made on first use (it binds to the running event loop). Proxies must be http://
    (what aiohttp supports); `ValueError` for another, when the client is built.
    """

    __slots__ = ("_proxied", "_proxies", "_proxy_urls", "_session", "guard")

    def __init__(self, guard: AddressGuard, trust_env_proxies: bool = False) -> None:
        self.guard = guard
        self._proxies = Proxies.from_environment() if trust_env_proxies else Proxies()
        self._proxied = bool(self._proxies)
        self._proxy_urls: dict[str, tuple[URL, dict[str, str] | None]] = {}
        for proxy in (self._proxies.http, self._proxies.https):
            if proxy is not None and proxy not in self._proxy_urls:
                self._proxy_urls[proxy] = _proxy_url(proxy)
        self._session: aiohttp.ClientSession | None = None

    def _new_session(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            resolver=GuardedResolver(self.guard), limit=100, limit_per_host=0, keepalive_timeout=5.0
        )
        return aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": USER_AGENT},
            cookie_jar=aiohttp.DummyCookieJar(),  # no cookie carries over from one call to the next
            trust_env=False,  # proxies come from `Proxies`, and only when the policy says so
            timeout=_NO_TIMEOUT,
            skip_auto_headers=("Content-Type",),  # a raw body goes without one unless the caller sets it
        )

    async def send(self, method: str, url: URL, headers: Mapping[str, str], body: bytes | None) -> Response:
        """Send one request (no redirect followed, no credentials taken from the URL: the skill does both).

        The response's body is left to read; `release()` it after (the connection is kept only if it was read).
        """
        session = self._session
        if session is None:
            session = self._session = self._new_session()
        host, port = _host_port(url)
        proxy_url = self._proxies.for_url(url.scheme, url.host or "") if self._proxied else None
        if proxy_url is None:
            self.guard.check_fixed(host, port)  # an IP literal is dialled as written: judge it here
            return await session.request(
                method, url, headers=headers, data=body, allow_redirects=False, timeout=_NO_TIMEOUT
            )
        proxy, proxy_headers = self._proxy_urls[proxy_url]
        self.guard.check_fixed(*_host_port(proxy))
        await self.guard.check_proxied(host, port)
        extra: dict[str, Any] = {"proxy": proxy}
        if proxy_headers is not None:
            extra["proxy_headers"] = proxy_headers
        return await session.request(
            method, url, headers=headers, data=body, allow_redirects=False, timeout=_NO_TIMEOUT, **extra
        )

    async def aclose(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()


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
            await each.aclose()
