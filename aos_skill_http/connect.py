"""Connecting under the network policy: resolve, judge every address, connect to a judged one.

The check sits in an httpcore network backend, below httpx, so it sees each connection the
client really opens (first request, every redirect hop, a proxy) and connects to the very
address it judged: a DNS answer that changes between check and connect (rebinding) cannot
slip through. Imported lazily: it pulls in anyio and httpcore2.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterable
from ipaddress import ip_address

import anyio
import httpcore2  # noqa: TID253 - the connect seam; this module is only imported lazily, from execute

from aos_skill_http.addresses import AllowList, IPAddress, fixed_addresses, judge, normalize_host
from aos_skill_http.errors import AddressRefused, HostNotFound

__all__ = ["AddressGuard", "GuardedBackend", "Resolver", "system_resolver"]

# host, port -> the addresses it resolves to, as text; raises HostNotFound.
Resolver = Callable[[str, int], Awaitable[list[str]]]


async def system_resolver(host: str, port: int) -> list[str]:
    """The operating system's resolver; names under `.invalid` fail without asking it (RFC 6761)."""
    name = normalize_host(host)
    if name == "invalid" or name.endswith(".invalid"):
        raise HostNotFound(host, "names under .invalid never resolve (RFC 6761)")
    try:
        infos = await anyio.getaddrinfo(name, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise HostNotFound(host, exc.strerror or str(exc)) from exc
    return [str(info[4][0]) for info in infos]


class AddressGuard:
    """Resolves a host and judges every address against the policy."""

    def __init__(self, allow: AllowList, resolver: Resolver = system_resolver) -> None:
        self.allow = allow
        self.resolver = resolver

    def _judge(self, host: str, port: int, addresses: list[IPAddress]) -> None:
        for address in addresses:
            refusal = judge(host, address, port, self.allow)
            if refusal is not None:
                raise AddressRefused(refusal)

    def check_fixed(self, host: str, port: int) -> None:
        """Judge a host whose addresses are known without DNS (an IP literal, localhost); else nothing."""
        self._judge(host, port, fixed_addresses(host) or [])

    async def resolve(self, host: str, port: int) -> list[IPAddress]:
        """The addresses to connect to, all allowed; `AddressRefused` if any is not."""
        addresses = fixed_addresses(host)
        if addresses is None:
            found = await self.resolver(host, port)
            addresses = list(dict.fromkeys(ip_address(text) for text in found))
            if not addresses:
                raise HostNotFound(host, "no addresses")
        self._judge(host, port, addresses)
        return addresses

    async def check_proxied(self, host: str, port: int) -> None:
        """Judge a target a proxy will connect to: best effort, since the proxy resolves it itself.

        A name this machine cannot resolve is left to the proxy.
        """
        try:
            await self.resolve(host, port)
        except HostNotFound:
            return


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
