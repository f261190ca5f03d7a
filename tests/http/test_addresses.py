"""The network policy as pure functions: every refused spelling, the public ones, the allowlist."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aos_skill_http.addresses import AllowList, classify, fixed_addresses, judge, parse_ip
from aos_skill_http.metadata import METADATA_ADDRESSES, METADATA_NAMES

ROOT = Path(__file__).resolve().parents[2]

# (host as written in a URL, rule it must be refused under)
REFUSED = [
    # loopback, in every spelling the C resolver accepts
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("127.1", "loopback"),
    ("127.0.1", "loopback"),
    ("0177.0.0.1", "loopback"),
    ("0177.1", "loopback"),
    ("0x7f.1", "loopback"),
    ("0x7f.0x0.0x0.0x1", "loopback"),
    ("0x7f000001", "loopback"),
    ("2130706433", "loopback"),
    ("017700000001", "loopback"),
    ("127.0.0.1.", "loopback"),
    ("::1", "loopback"),
    ("[::1]", "loopback"),
    ("0:0:0:0:0:0:0:1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("[::ffff:127.0.0.1]", "loopback"),
    ("::ffff:7f00:1", "loopback"),
    ("::ffff:0:127.0.0.1", "loopback"),  # IPv4-translated (SIIT)
    ("::127.0.0.1", "loopback"),  # IPv4-compatible
    ("64:ff9b::127.0.0.1", "loopback"),  # NAT64
    ("64:ff9b::7f00:1", "loopback"),
    ("2002:7f00:1::", "loopback"),  # 6to4
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback"),  # Teredo, client 127.0.0.1 obfuscated
    ("localhost", "loopback"),
    ("localhost.", "loopback"),
    ("LOCALHOST", "loopback"),
    ("api.localhost", "loopback"),
    # cloud metadata
    ("169.254.169.254", "metadata"),
    ("169.254.169.254.", "metadata"),
    ("2852039166", "metadata"),
    ("0xa9fea9fe", "metadata"),
    ("0251.0376.0251.0376", "metadata"),
    ("0xa9.0xfe.0xa9.0xfe", "metadata"),
    ("169.254.43518", "metadata"),
    ("::ffff:169.254.169.254", "metadata"),
    ("::ffff:a9fe:a9fe", "metadata"),
    ("64:ff9b::169.254.169.254", "metadata"),
    ("2002:a9fe:a9fe::1", "metadata"),
    ("fd00:ec2::254", "metadata"),
    ("169.254.170.2", "metadata"),
    ("100.100.100.200", "metadata"),
    ("192.0.0.192", "metadata"),
    ("168.63.129.16", "metadata"),  # Azure WireServer: a public-looking address
    ("2822734096", "metadata"),
    ("::ffff:168.63.129.16", "metadata"),
    ("64:ff9b::a83f:8110", "metadata"),
    ("169.254.42.42", "metadata"),
    ("169.254.0.23", "metadata"),
    ("fd20:ce::254", "metadata"),
    ("fe80::a9fe:a9fe", "metadata"),
    # ISATAP: an IPv4 in the interface identifier, under any prefix, judged like itself
    ("2001:4860:1:2::5efe:10.0.0.1", "private"),
    ("2606:4700:0:1:200:5efe:127.0.0.1", "loopback"),
    ("2a00:1450::5efe:a9fe:a9fe", "metadata"),
    ("2a00:1450::200:5efe:168.63.129.16", "metadata"),
    ("fe80::5efe:192.168.0.1", "private"),
    # private
    ("10.0.0.1", "private"),
    ("012.0.0.1", "private"),
    ("0xa.1", "private"),
    ("167772161", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("::ffff:192.168.1.1", "private"),
    ("64:ff9b::10.1.2.3", "private"),
    ("2002:c0a8:101::", "private"),
    ("fc00::1", "private"),
    ("fd12:3456:789a::1", "private"),
    ("fec0::1", "private"),
    ("64:ff9b:1::a00:1", "private"),
    # link-local
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fe80::1%eth0", "link-local"),
    ("::ffff:169.254.1.1", "link-local"),
    # carrier-grade NAT
    ("100.64.0.1", "shared"),
    ("100.127.255.255", "shared"),
    # multicast
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("::ffff:224.0.0.251", "multicast"),
    # unspecified and broadcast
    ("0.0.0.0", "unspecified"),
    ("0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("::ffff:0.0.0.0", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("4294967295", "broadcast"),
    ("0xffffffff", "broadcast"),
    # reserved, documentation, benchmarking
    ("240.0.0.1", "reserved"),
    ("192.0.0.8", "reserved"),
    ("192.88.99.1", "reserved"),
    ("100::1", "reserved"),
    ("::8.8.8.8", "reserved"),  # IPv4-compatible is deprecated even for a public address
    ("4000::1", "reserved"),  # outside 2000::/3
    ("2001:10::1", "reserved"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.255", "benchmarking"),
    ("2001:2::1", "benchmarking"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.215.14",
    "11.0.0.1",
    "100.63.255.255",
    "100.128.0.0",
    "172.32.0.1",
    "169.253.255.255",
    "192.0.3.1",
    "198.20.0.1",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2001:4860:1:2::5efe:8.8.8.8",  # ISATAP with a public IPv4 under a global prefix
    "168.63.129.17",
]


def _refusal(host: str, port: int = 80, allow: AllowList | None = None) -> str | None:
    """The rule refusing every fixed address of `host`, or None; asserts it needs no DNS."""
    addresses = fixed_addresses(host)
    assert addresses is not None, f"{host} should be judged without DNS"
    rules = {r.verdict.rule for a in addresses if (r := judge(host, a, port, allow or AllowList())) is not None}
    assert len(rules) <= 1
    return rules.pop() if rules else None


@pytest.mark.parametrize(("host", "rule"), REFUSED)
def test_refused_spelling(host: str, rule: str) -> None:
    """Each spelling of a non-public address is refused under its rule, without DNS."""
    assert _refusal(host) == rule


@pytest.mark.parametrize("host", PUBLIC)
def test_public_address_is_allowed(host: str) -> None:
    """Public addresses pass, including a public IPv4 behind mapping, NAT64 or 6to4."""
    assert _refusal(host) is None


@pytest.mark.parametrize(
    "host", ["example.com", "127.0.0.1.example.com", "0x7g.1", "1.2.3.4.5", "256.1.1.1", "08.0.0.1"]
)
def test_names_need_dns(host: str) -> None:
    """Anything that is not an address spelling (or a localhost name) is resolved, then judged."""
    assert fixed_addresses(host) is None


def test_refusal_message_names_rule_spelling_and_remedy() -> None:
    """The message says what was refused, under which rule, and how to allow it."""
    address = parse_ip("0x7f.1")
    assert address is not None
    refusal = judge("0x7f.1", address, 8080, AllowList())
    assert refusal is not None
    assert refusal.message == "refused 0x7f.1 (127.0.0.1): loopback address; allow it with --allow-net 127.0.0.1:8080"
    assert refusal.details() == {"rule": "loopback", "address": "127.0.0.1", "host": "0x7f.1", "port": 8080}


def test_refusal_of_embedded_address_names_both() -> None:
    """An IPv4 address hidden in IPv6 is named, with how it was embedded."""
    address = IPv6Address("64:ff9b::a9fe:a9fe")
    refusal = judge("64:ff9b::a9fe:a9fe", address, 80, AllowList())
    assert refusal is not None
    assert "NAT64 IPv6 embedding 169.254.169.254" in refusal.message
    assert refusal.details()["embedded"] == "169.254.169.254"
    assert "--allow-net [64:ff9b::a9fe:a9fe]:80" in refusal.message


@pytest.mark.parametrize("endpoint", METADATA_ADDRESSES, ids=lambda e: e.target)
def test_every_listed_metadata_address_is_refused_as_metadata(endpoint: Any) -> None:
    assert _refusal(endpoint.target) == "metadata"


@pytest.mark.parametrize("endpoint", METADATA_NAMES, ids=lambda e: e.target)
def test_a_metadata_host_name_is_refused_whatever_it_resolves_to(endpoint: Any) -> None:
    refusal = judge(endpoint.target.upper() + ".", IPv4Address("147.75.40.2"), 80, AllowList())
    assert refusal is not None and refusal.verdict.rule == "metadata"
    assert endpoint.providers in refusal.message
    assert judge(endpoint.target, IPv4Address("147.75.40.2"), 80, AllowList([endpoint.target])) is None


def test_the_readme_lists_exactly_the_metadata_endpoints() -> None:
    """aos_skill_http/README.md shows the list the code refuses, row for row."""
    readme = (ROOT / "aos_skill_http" / "README.md").read_text("utf-8")
    rows = {line for line in readme.splitlines() if line.startswith("| `")}
    for endpoint in (*METADATA_ADDRESSES, *METADATA_NAMES):
        assert f"| `{endpoint.target}` | {endpoint.providers} |" in rows, endpoint.target


def test_an_isatap_refusal_names_the_embedding() -> None:
    address = IPv6Address("2001:4860:1:2::5efe:10.0.0.1")
    refusal = judge(str(address), address, 80, AllowList())
    assert refusal is not None
    assert "ISATAP IPv6 embedding 10.0.0.1" in refusal.message
    assert refusal.details()["via"] == "ISATAP"


class TestAllowList:
    def test_host_and_port_opens_that_port_only(self) -> None:
        allow = AllowList(["127.0.0.1:8080"])
        assert _refusal("127.0.0.1", 8080, allow) is None
        assert _refusal("127.0.0.1", 8081, allow) == "loopback"

    def test_address_entry_covers_every_spelling_of_it(self) -> None:
        allow = AllowList(["127.0.0.1:8080"])
        for spelling in ("127.1", "2130706433", "::ffff:127.0.0.1", "localhost"):
            assert _refusal(spelling, 8080, allow) is None, spelling

    def test_cidr_entry_opens_the_range_on_any_port(self) -> None:
        allow = AllowList(["10.0.0.0/8"])
        assert _refusal("10.9.8.7", 1, allow) is None
        assert _refusal("11.0.0.1", 1, allow) is None
        assert _refusal("192.168.0.1", 1, allow) == "private"

    def test_name_entry_opens_that_name_only(self) -> None:
        allow = AllowList(["localhost:9000"])
        assert _refusal("localhost.", 9000, allow) is None
        assert _refusal("127.0.0.1", 9000, allow) == "loopback"

    def test_ipv6_entries(self) -> None:
        allow = AllowList(["[::1]:8080", "fd00::/8"])
        assert _refusal("[::1]", 8080, allow) is None
        assert _refusal("::1", 8081, allow) == "loopback"
        assert _refusal("fd00:ec2::254", 80, allow) is None  # a CIDR the user wrote covers what it covers

    def test_a_nat64_address_is_not_allowed_by_its_embedded_ipv4(self) -> None:
        """Only the address connected to is matched: NAT64 reaches a gateway, not the IPv4 host."""
        allow = AllowList(["127.0.0.1"])
        assert _refusal("64:ff9b::7f00:1", 80, allow) == "loopback"

    @pytest.mark.parametrize("entry", ["", "127.0.0.1:http", "host:0", "host:70000", "10.0.0.0/33", "[::1]x", "a b"])
    def test_malformed_entry_is_named(self, entry: str) -> None:
        with pytest.raises(ValueError):
            AllowList([entry])


# -- invariants ------------------------------------------------------------------------------
ipv4s = st.integers(0, 2**32 - 1).map(IPv4Address)


@given(ipv4s)
def test_every_ipv4_spelling_means_the_same_address(address: IPv4Address) -> None:
    """Decimal, hex, octal and short forms all parse to the address they spell."""
    n = int(address)
    octets = address.packed
    spellings = [
        str(n),
        hex(n),
        ".".join(f"0{b:o}" for b in octets),
        ".".join(hex(b) for b in octets),
        f"{octets[0]}.{n & 0xFFFFFF}",
        f"{octets[0]}.{octets[1]}.{n & 0xFFFF}",
        f"{address}.",
    ]
    for spelling in spellings:
        assert parse_ip(spelling) == address, spelling


@given(ipv4s)
def test_an_embedded_ipv4_is_judged_like_itself(address: IPv4Address) -> None:
    """Mapped, NAT64, 6to4 and ISATAP forms of a refused IPv4 address are refused under the same rule."""
    verdict = classify(address)
    n = int(address)
    forms = [
        IPv6Address(0xFFFF << 32 | n),
        IPv6Address(0x64FF9B << 96 | n),
        IPv6Address(0x2002 << 112 | n << 80),
        IPv6Address(0x2001_4860_0001_0002 << 64 | 0x5EFE << 32 | n),  # ISATAP under a global prefix
        IPv6Address(0x2001_4860_0001_0002 << 64 | 0x0200_5EFE << 32 | n),
    ]
    for form in forms:
        judged = classify(form)
        if verdict is None:
            assert judged is None, form
        else:
            assert judged is not None and judged.rule == verdict.rule, form
