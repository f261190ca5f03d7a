"""Connecting under the network policy: resolve, judge every address, connect to a judged one.

`AddressGuard` is what the engine (aiohttp, see `transport.py`) asks before it connects: the
host is resolved, every address is judged, and only judged addresses are handed back to be
dialled, so a DNS answer that changes between check and connect (rebinding) cannot slip through.
The guard sits below the client, as aiohttp's resolver, so it sees each connection the client
really opens (first request, every redirect hop, a proxy). No HTTP library is imported here.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from ipaddress import ip_address

from aos_skill_http.addresses import AllowList, IPAddress, Refusal, fixed_addresses, judge, normalize_host
from aos_skill_http.errors import AddressRefused, HostNotFound

__all__ = ["AddressGuard", "Resolver", "system_resolver"]

# host, port -> the addresses it resolves to, as text; raises HostNotFound.
Resolver = Callable[[str, int], Awaitable[list[str]]]

_FIXED_CACHE_SIZE = 1024


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver; names under `.invalid` fail without asking it (RFC 6761)."""
    name = normalize_host(host)
    if name == "invalid" or name.endswith(".invalid"):
        raise HostNotFound(host, "names under .invalid never resolve (RFC 6761)")
    try:
        name.encode("ascii")
    except UnicodeEncodeError:
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise HostNotFound(host, f"not a valid host name ({exc})") from exc
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HostNotFound(host, exc.strerror or str(exc)) from exc
    return [str(info[4][0]) for info in infos]


class AddressGuard:
    """Resolves a host and judges every address against the policy.

    Verdicts on hosts whose addresses are fixed (IP literals, localhost names) are remembered per
    host and port: they depend on nothing else, and a pooled client asks about the same few
    hosts on every request.
    """

    def __init__(self, allow: AllowList, resolver: Resolver = system_resolver) -> None:
        self.allow = allow
        self.resolver = resolver
        # (host, port) -> (addresses or None for a name, the first refusal or None)
        self._fixed: dict[tuple[str, int], tuple[list[IPAddress] | None, Refusal | None]] = {}

    def _first_refusal(self, host: str, port: int, addresses: list[IPAddress]) -> Refusal | None:
        for address in addresses:
            refusal = judge(host, address, port, self.allow)
            if refusal is not None:
                return refusal
        return None

    def _fixed_verdict(self, host: str, port: int) -> tuple[list[IPAddress] | None, Refusal | None]:
        key = (host, port)
        known = self._fixed.get(key)
        if known is None:
            addresses = fixed_addresses(host)
            refusal = None if addresses is None else self._first_refusal(host, port, addresses)
            if len(self._fixed) >= _FIXED_CACHE_SIZE:
                self._fixed.clear()
            known = self._fixed[key] = (addresses, refusal)
        return known

    def check_fixed(self, host: str, port: int) -> None:
        """Judge a host whose addresses are known without DNS (an IP literal, localhost); else nothing."""
        refusal = self._fixed_verdict(host, port)[1]
        if refusal is not None:
            raise AddressRefused(refusal)

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to, all allowed; `AddressRefused` if any is not."""
        addresses, refusal = self._fixed_verdict(host, port)
        if addresses is None:
            found = await self.resolver(host, port)
            addresses = list(dict.fromkeys(ip_address(text) for text in found))
            if not addresses:
                raise HostNotFound(host, "no addresses")
            refusal = self._first_refusal(host, port, addresses)
        if refusal is not None:
            raise AddressRefused(refusal)
        return addresses

    async def check_proxied(self, host: str, port: int) -> None:
        """Judge a target a proxy will connect to: best effort, since the proxy resolves it itself.

        A name this machine cannot resolve is left to the proxy.
        """
        try:
            await self.resolve(host, port)
        except HostNotFound:
            return
