"""Proxies from the environment, read only when `policy.network.trust_env_proxies` is set.

No HTTP library is imported here.
"""

from __future__ import annotations

import urllib.request
from dataclasses import dataclass

__all__ = ["Proxies"]


@dataclass(frozen=True, slots=True)
class Proxies:
    """A proxy URL per scheme (http, https) and the NO_PROXY list; empty means every request goes direct."""

    http: str | None = None
    https: str | None = None
    no_proxy: str = ""

    @classmethod
    def from_environment(cls) -> Proxies:
        found = urllib.request.getproxies_environment()
        every = found.get("all")
        return cls(found.get("http", every) or None, found.get("https", every) or None, found.get("no", ""))

    def __bool__(self) -> bool:
        return self.http is not None or self.https is not None

    def for_url(self, scheme: str, host: str) -> str | None:
        """The proxy for a request, or None to go direct."""
        proxy = self.https if scheme == "https" else self.http if scheme == "http" else None
        if proxy is not None and _bypassed(host, self.no_proxy):
            return None
        return proxy


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
