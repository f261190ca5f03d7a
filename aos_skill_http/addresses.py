"""Which addresses `http_call` may connect to: the network policy as pure functions.

No sockets and no DNS here: the transport resolves a host, then asks `judge` about every
address before it connects to one of them. Python's `ipaddress` flags are not used alone:
an IPv4 address can hide inside an IPv6 one (mapped, translated, compatible, NAT64, 6to4,
Teredo, ISATAP), and the C resolver reads `127.1`, `0177.0.0.1`, `0x7f.1` and `2130706433` as
127.0.0.1, so every spelling is parsed here the way `inet_aton` does. Cloud metadata endpoints
(`metadata.py`) are refused first, whatever range they are in, and so are their host names,
whatever those resolve to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_network
from typing import Any

from aos_skill_http.metadata import METADATA_ADDRESSES, METADATA_NAMES

__all__ = [
    "AllowList",
    "IPAddress",
    "Refusal",
    "Verdict",
    "classify",
    "classify_name",
    "fixed_addresses",
    "judge",
    "normalize_host",
    "parse_ip",
]

IPAddress = IPv4Address | IPv6Address

_LOOPBACK = IPv4Address("127.0.0.1")


@dataclass(frozen=True, slots=True)
class Verdict:
    """Why an address is refused: a rule name (stable, for machines) and a reason (for people)."""

    rule: str
    reason: str
    embedded: IPv4Address | None = None  # the IPv4 address found inside an IPv6 one
    via: str | None = None  # how it was embedded, e.g. "NAT64"


def _table(rows: tuple[tuple[str, str, str], ...]) -> tuple[tuple[IPv4Network | IPv6Network, Verdict], ...]:
    return tuple((ip_network(cidr), Verdict(rule, reason)) for cidr, rule, reason in rows)


def _metadata(version: int) -> tuple[tuple[str, str, str], ...]:
    return tuple(
        (e.target, "metadata", f"cloud metadata address ({e.providers})")
        for e in METADATA_ADDRESSES
        if (":" in e.target) == (version == 6)
    )


# First match wins, so single metadata addresses come before the ranges that contain them.
_V4 = _table(
    (
        *_metadata(4),
        ("255.255.255.255/32", "broadcast", "broadcast address"),
        ("0.0.0.0/8", "unspecified", "unspecified ('this network') address"),
        ("127.0.0.0/8", "loopback", "loopback address"),
        ("10.0.0.0/8", "private", "private address (RFC 1918)"),
        ("172.16.0.0/12", "private", "private address (RFC 1918)"),
        ("192.168.0.0/16", "private", "private address (RFC 1918)"),
        ("100.64.0.0/10", "shared", "carrier-grade NAT address (RFC 6598)"),
        ("169.254.0.0/16", "link-local", "link-local address"),
        ("192.0.0.0/24", "reserved", "IETF protocol assignment (RFC 6890)"),
        ("192.0.2.0/24", "documentation", "documentation address (RFC 5737)"),
        ("198.51.100.0/24", "documentation", "documentation address (RFC 5737)"),
        ("203.0.113.0/24", "documentation", "documentation address (RFC 5737)"),
        ("198.18.0.0/15", "benchmarking", "benchmarking address (RFC 2544)"),
        ("192.88.99.0/24", "reserved", "deprecated 6to4 relay address (RFC 7526)"),
        ("224.0.0.0/4", "multicast", "multicast address"),
        ("240.0.0.0/4", "reserved", "reserved address (240.0.0.0/4)"),
    )
)
_V6 = _table(
    (
        *_metadata(6),
        ("::/128", "unspecified", "unspecified address"),
        ("::1/128", "loopback", "loopback address"),
        ("100::/64", "reserved", "discard-only address (RFC 6666)"),
        ("64:ff9b:1::/48", "private", "local-use NAT64 address (RFC 8215)"),
        ("2001:db8::/32", "documentation", "documentation address (RFC 3849)"),
        ("3fff::/20", "documentation", "documentation address (RFC 9637)"),
        ("2001:2::/48", "benchmarking", "benchmarking address (RFC 5180)"),
        ("2001:10::/28", "reserved", "deprecated ORCHID address (RFC 4843)"),
        ("fc00::/7", "private", "unique local address (fc00::/7)"),
        ("fe80::/10", "link-local", "link-local address"),
        ("fec0::/10", "private", "deprecated site-local address"),
        ("ff00::/8", "multicast", "multicast address"),
    )
)
_GLOBAL_UNICAST = IPv6Network("2000::/3")
_MAPPED = IPv6Network("::ffff:0:0/96")
_TRANSLATED = IPv6Network("::ffff:0:0:0/96")
_COMPATIBLE = IPv6Network("::/96")
_NAT64 = IPv6Network("64:ff9b::/96")
_SIX_TO_FOUR = IPv6Network("2002::/16")
_TEREDO = IPv6Network("2001::/32")
_ISATAP_IDS = (0x00005EFE, 0x02005EFE)  # interface identifier ::5efe:a.b.c.d or ::200:5efe:a.b.c.d, any prefix
_METADATA_HOSTS = {e.target: Verdict("metadata", f"cloud metadata host name ({e.providers})") for e in METADATA_NAMES}


def _match(ip: IPAddress) -> Verdict | None:
    for network, verdict in _V4 if ip.version == 4 else _V6:
        if ip in network:
            return verdict
    return None


def _embedded(ip: IPv6Address) -> tuple[str, IPv4Address] | None:
    """The IPv4 address an IPv6 address carries, and how, or None."""
    low32 = IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _MAPPED:
        return "IPv4-mapped", low32
    if ip in _TRANSLATED:
        return "IPv4-translated", low32
    if ip in _COMPATIBLE and int(ip) > 1:
        return "IPv4-compatible", low32
    if ip in _NAT64:
        return "NAT64", low32
    if ip in _SIX_TO_FOUR and ip.sixtofour is not None:
        return "6to4", ip.sixtofour
    if ip in _TEREDO and ip.teredo is not None:
        return "Teredo", ip.teredo[1]  # the client address, de-obfuscated
    return None


def _isatap(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address in an ISATAP interface identifier (RFC 5214), under any /64 prefix."""
    iid = int(ip) & 0xFFFF_FFFF_FFFF_FFFF
    return IPv4Address(iid & 0xFFFFFFFF) if iid >> 32 in _ISATAP_IDS else None


def classify_name(host: str) -> Verdict | None:
    """Why connecting to a host of this name is refused whatever it resolves to (a metadata host), or None."""
    return _METADATA_HOSTS.get(normalize_host(host))


def classify(ip: IPAddress) -> Verdict | None:
    """Why `ip` is refused by default, or None for a public address."""
    if isinstance(ip, IPv4Address):
        return _match(ip)
    inner = _isatap(ip)
    if inner is not None and (verdict := _match(inner)) is not None:
        return Verdict(verdict.rule, verdict.reason, inner, "ISATAP")  # else judged as the IPv6 address it is
    found = _embedded(ip)
    if found is not None:
        via, inner = found
        verdict = _match(inner)
        if verdict is not None:
            return Verdict(verdict.rule, verdict.reason, inner, via)
        if via == "IPv4-compatible":
            return Verdict("reserved", "deprecated IPv4-compatible IPv6 address", inner, via)
        return None  # a public IPv4 address behind a translation prefix is public
    verdict = _match(ip)
    if verdict is not None:
        return verdict
    if ip not in _GLOBAL_UNICAST:
        return Verdict("reserved", "address outside IPv6 global unicast space (2000::/3)")
    return None


def normalize_host(host: str) -> str:
    """Lower-case, without IPv6 brackets and trailing dots (`LOCALHOST.` is `localhost`)."""
    host = host.strip().lower()
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host.rstrip(".")


_IPV4_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def _ipv4_part(text: str) -> int | None:
    if not _IPV4_PART.fullmatch(text):
        return None
    if text[:2] in ("0x", "0X"):
        return int(text[2:] or "0", 16)
    return int(text, 8) if text.startswith("0") else int(text)


def _parse_ipv4_loose(text: str) -> IPv4Address | None:
    """IPv4 in every form `inet_aton` accepts: `127.1`, `0177.0.0.1`, `0x7f.1`, `2130706433`."""
    parts = text.split(".")
    if len(parts) > 4:
        return None
    values: list[int] = []
    for part in parts:
        value = _ipv4_part(part)
        if value is None:
            return None
        values.append(value)
    *head, last = values
    free = 4 - len(head)  # bytes the last part fills
    if any(value > 255 for value in head) or last >= 256**free:
        return None
    number = 0
    for value in head:
        number = number * 256 + value
    return IPv4Address((number << (8 * free)) + last)


def parse_ip(host: str) -> IPAddress | None:
    """The address a host spells, in any spelling the C resolver accepts, or None for a name."""
    host = normalize_host(host)
    if ":" in host:
        try:
            return IPv6Address(host)
        except ValueError:
            return None
    return _parse_ipv4_loose(host)


def _is_localhost_name(host: str) -> bool:
    return host == "localhost" or host.endswith(".localhost")


def fixed_addresses(host: str) -> list[IPAddress] | None:
    """Addresses known without DNS: an IP literal, or 127.0.0.1 for localhost names (RFC 6761)."""
    ip = parse_ip(host)
    if ip is not None:
        return [ip]
    if _is_localhost_name(normalize_host(host)):
        return [_LOOPBACK]
    return None


def _canonical(ip: IPAddress) -> IPAddress:
    """An IPv4-mapped IPv6 address is the IPv4 host itself on a dual-stack socket."""
    if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


@dataclass(frozen=True, slots=True)
class _Entry:
    text: str
    network: IPv4Network | IPv6Network | None
    host: str | None
    port: int | None

    def matches(self, host: str, ip: IPAddress, port: int) -> bool:
        if self.port is not None and self.port != port:
            return False
        if self.network is not None:
            return ip in self.network
        return self.host == host


def _parse_port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r}: port must be a number from 1 to 65535")
    return int(text)


def _parse_entry(entry: str) -> _Entry:
    text = entry.strip()
    if not text:
        raise ValueError("an empty entry")
    if "/" in text:
        try:
            return _Entry(entry, ip_network(normalize_host(text), strict=False), None, None)
        except ValueError as exc:
            raise ValueError(f"{entry!r}: {exc}") from None
    port: int | None = None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{entry!r}: expected [IPV6]:PORT")
            port = _parse_port(rest[1:], entry)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _parse_port(port_text, entry)
    else:
        host = text
    ip = parse_ip(host)
    if ip is not None:
        ip = _canonical(ip)
        return _Entry(entry, ip_network(ip), None, port)
    name = normalize_host(host)
    if not name or any(c in name for c in " /@?#[]"):
        raise ValueError(f"{entry!r} is not HOST, HOST:PORT or CIDR")
    return _Entry(entry, None, name, port)


class AllowList:
    """`policy.network.allow`: entries `HOST`, `HOST:PORT` (that port only) or a CIDR.

    A name entry allows whatever that name resolves to; an address or CIDR entry allows the
    address connected to. `ValueError` names a malformed entry.
    """

    __slots__ = ("_entries",)

    def __init__(self, entries: tuple[str, ...] | list[str] = ()) -> None:
        self._entries = tuple(_parse_entry(entry) for entry in entries)

    def allows(self, host: str, ip: IPAddress, port: int) -> bool:
        host = normalize_host(host)
        ip = _canonical(ip)
        return any(entry.matches(host, ip, port) for entry in self._entries)

    def __repr__(self) -> str:
        return f"AllowList({[e.text for e in self._entries]!r})"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A refused connection: the rule, the address judged and what the URL said."""

    verdict: Verdict
    address: IPAddress
    host: str
    port: int

    @property
    def message(self) -> str:
        spelled = normalize_host(self.host)
        shown = str(self.address)
        if spelled != shown:
            shown = f"{self.host} ({self.address})"
        if self.verdict.embedded is not None:
            shown += f", {self.verdict.via} IPv6 embedding {self.verdict.embedded}"
        target = f"[{self.address}]" if self.address.version == 6 else str(self.address)
        return f"refused {shown}: {self.verdict.reason}; allow it with --allow-net {target}:{self.port}"

    def details(self) -> dict[str, Any]:
        details: dict[str, Any] = {
            "rule": self.verdict.rule,
            "address": str(self.address),
            "host": self.host,
            "port": self.port,
        }
        if self.verdict.embedded is not None:
            details["embedded"] = str(self.verdict.embedded)
            details["via"] = self.verdict.via
        return details


def judge(host: str, ip: IPAddress, port: int, allow: AllowList) -> Refusal | None:
    """The refusal of connecting to `ip` (which `host` resolved to) on `port`, or None if allowed."""
    ip = _canonical(ip)
    verdict = classify_name(host) or classify(ip)
    if verdict is None or allow.allows(host, ip, port):
        return None
    return Refusal(verdict, ip, host, port)
