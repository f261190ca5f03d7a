"""The network policy through the skill: refusals happen before any connection, on every hop."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from aos_core import ErrorCode

if TYPE_CHECKING:
    from conftest import Call, MakeRuntime, Server

    from aos_skill_http.connect import Resolver

    ResolverFrom = Callable[[dict[str, list[str]]], Resolver]
    Untouched = Callable[[socket.socket], bool]

pytestmark = pytest.mark.network  # a real httpbin on 127.0.0.1

# Spellings of 127.0.0.1 (and of ::1, and names for it) a URL may use.
LOOPBACK_SPELLINGS = [
    "127.0.0.1",
    "127.1",
    "0177.0.0.1",
    "0x7f.1",
    "0x7f000001",
    "2130706433",
    "127.0.0.1.",
    "localhost",
    "localhost.",
    "LocalHost",
    "app.localhost",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
]


def test_default_policy_refuses_loopback(make_runtime: MakeRuntime, call: Call, httpbin: Server) -> None:
    """No allowlist: even a server on this machine is refused, with the flag that would allow it."""
    outcome = call({"url": httpbin("/get")}, make_runtime())
    assert outcome.error.code == ErrorCode.POLICY_VIOLATION
    assert not outcome.error.retryable
    assert outcome.attempts == 1
    assert outcome.error.message == (
        f"refused 127.0.0.1: loopback address; allow it with --allow-net 127.0.0.1:{httpbin.port}"
    )
    assert outcome.error.details["rule"] == "loopback"
    assert outcome.error.details["address"] == "127.0.0.1"


@pytest.mark.parametrize("spelling", LOOPBACK_SPELLINGS)
def test_refused_spelling_never_connects(
    spelling: str, make_runtime: MakeRuntime, call: Call, listener: socket.socket, nothing_connected: Untouched
) -> None:
    port = listener.getsockname()[1]
    outcome = call({"url": f"http://{spelling}:{port}/"}, make_runtime())
    assert outcome.error.code == ErrorCode.POLICY_VIOLATION, outcome.error.message
    assert outcome.error.details["rule"] == "loopback"
    assert nothing_connected(listener)


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fd00:ec2::254]/",
        "http://0xa9fea9fe/",
        "http://100.100.100.200/",
        "http://168.63.129.16/machine?comp=goalstate",  # Azure WireServer, outside every private range
        "http://[fd20:ce::254]/computeMetadata/v1/",
        "http://[2a00:1450::5efe:169.254.169.254]/",  # ISATAP
    ],
)
def test_metadata_endpoints_are_refused(make_runtime: MakeRuntime, call: Call, url: str) -> None:
    outcome = call({"url": url}, make_runtime())
    assert outcome.error.details["rule"] == "metadata"


def test_a_metadata_host_name_is_refused_though_it_resolves_to_a_public_address(
    call: Call, make_runtime: MakeRuntime, resolver_from: ResolverFrom
) -> None:
    rt = make_runtime(resolver=resolver_from({"metadata.platformequinix.com": ["147.75.40.2"]}))
    outcome = call({"url": "https://metadata.platformequinix.com/metadata"}, rt)
    assert outcome.error.code == ErrorCode.POLICY_VIOLATION
    assert outcome.error.details["rule"] == "metadata"
    assert "cloud metadata host name (Equinix Metal" in outcome.error.message


def test_allowing_host_and_port_opens_that_port_only(
    call: Call, make_runtime: MakeRuntime, httpbin: Server, other: Server
) -> None:
    rt = make_runtime(httpbin.allow)
    assert call({"url": httpbin("/get")}, rt).ok
    refused = call({"url": other("/get")}, rt)
    assert refused.error.code == ErrorCode.POLICY_VIOLATION
    assert refused.error.details["port"] == other.port


def test_allowing_a_cidr_opens_every_port(
    call: Call, make_runtime: MakeRuntime, httpbin: Server, other: Server
) -> None:
    rt = make_runtime("127.0.0.0/8")
    assert call({"url": httpbin("/get")}, rt).ok
    assert call({"url": other("/get")}, rt).ok


def test_allowing_a_name_opens_that_name(call: Call, make_runtime: MakeRuntime, httpbin: Server) -> None:
    rt = make_runtime(f"localhost:{httpbin.port}")
    outcome = call({"url": f"http://localhost:{httpbin.port}/get"}, rt)
    assert outcome.ok, outcome.error
    assert call({"url": httpbin("/get")}, rt).error.code == ErrorCode.POLICY_VIOLATION


def test_an_allowed_address_is_reached_by_any_spelling(call: Call, make_runtime: MakeRuntime, httpbin: Server) -> None:
    rt = make_runtime(httpbin.allow)
    outcome = call({"url": f"http://localhost.:{httpbin.port}/get"}, rt)
    assert outcome.ok, outcome.error


def test_a_malformed_allow_entry_is_refused_when_the_policy_is_built() -> None:
    from pydantic import ValidationError

    from aos_core import NetworkPolicy

    with pytest.raises(ValidationError, match=r"'127\.0\.0\.1:http': the port must be a number"):
        NetworkPolicy(allow=("127.0.0.1:http",))


# -- redirects -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "rule"),
    [
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://[::ffff:169.254.169.254]/", "metadata"),
        ("http://10.0.0.1/", "private"),
        ("http://localhost/", "loopback"),
    ],
)
def test_redirect_to_a_refused_address_is_refused(call: Call, httpbin: Server, target: str, rule: str) -> None:
    outcome = call({"url": httpbin("/redirect-to"), "params": {"url": target}})
    assert outcome.error.code == ErrorCode.POLICY_VIOLATION
    assert outcome.error.details["rule"] == rule
    assert outcome.error.details["url"] == target


def test_redirect_to_another_port_of_an_allowed_host_is_refused(
    call: Call, make_runtime: MakeRuntime, httpbin: Server, listener: socket.socket, nothing_connected: Untouched
) -> None:
    port = listener.getsockname()[1]
    rt = make_runtime(httpbin.allow)
    outcome = call({"url": httpbin("/redirect-to"), "params": {"url": f"http://127.0.0.1:{port}/"}}, rt)
    assert outcome.error.code == ErrorCode.POLICY_VIOLATION
    assert outcome.error.details["port"] == port
    assert nothing_connected(listener)


# -- resolution ------------------------------------------------------------------------------


def test_every_resolved_address_is_judged(
    call: Call, make_runtime: MakeRuntime, resolver_from: ResolverFrom, httpbin: Server
) -> None:
    """One public and one private answer: refused, so a resolver cannot mix a private one in."""
    rt = make_runtime(resolver=resolver_from({"mixed.example": ["93.184.215.14", "10.0.0.7"]}))
    outcome = call({"url": "http://mixed.example/"}, rt)
    assert outcome.error.code == ErrorCode.POLICY_VIOLATION
    assert outcome.error.details == {
        "rule": "private",
        "address": "10.0.0.7",
        "host": "mixed.example",
        "port": 80,
        "url": "http://mixed.example/",
    }


def test_the_checked_address_is_the_one_connected_to(
    call: Call, make_runtime: MakeRuntime, resolver_from: ResolverFrom, httpbin: Server
) -> None:
    """The name resolves once, is judged, and that very address is dialled; the Host header keeps the name."""
    rt = make_runtime(httpbin.allow, resolver=resolver_from({"service.example": ["127.0.0.1"]}))
    outcome = call({"url": f"http://service.example:{httpbin.port}/get"}, rt)
    assert outcome.ok, outcome.error
    assert outcome.output["body"]["headers"]["Host"] == f"service.example:{httpbin.port}"


def test_a_resolved_address_hidden_in_ipv6_is_refused(
    call: Call, make_runtime: MakeRuntime, resolver_from: ResolverFrom
) -> None:
    rt = make_runtime(resolver=resolver_from({"nat64.example": ["64:ff9b::a9fe:a9fe"]}))
    outcome = call({"url": "http://nat64.example/"}, rt)
    assert outcome.error.details["rule"] == "metadata"
    assert outcome.error.details["embedded"] == "169.254.169.254"


# -- proxies from the environment ------------------------------------------------------------

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Point every proxy variable at a URL (NO_PROXY cleared)."""

    def set_proxy(url: str) -> None:
        for name in PROXY_VARIABLES:
            monkeypatch.setenv(name, url)
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)

    return set_proxy


def test_environment_proxy_is_ignored_by_default(
    call: Call, make_runtime: MakeRuntime, httpbin: Server, closed_port: int, proxy_env: Callable[[str], None]
) -> None:
    proxy_env(f"http://127.0.0.1:{closed_port}")
    outcome = call({"url": httpbin("/get")}, make_runtime(httpbin.allow))
    assert outcome.ok, outcome.error


def test_trusted_environment_proxy_is_used(
    call: Call, make_runtime: MakeRuntime, other: Server, proxy_env: Callable[[str], None]
) -> None:
    """With trust_env_proxies the request goes to the proxy (here httpbin, which answers it itself)."""
    proxy_env(other())
    outcome = call({"url": "http://proxied.invalid/get"}, make_runtime(other.allow, trust_env_proxies=True))
    assert outcome.ok, outcome.error
    assert outcome.output["body"]["url"] == "http://proxied.invalid/get"


def test_the_proxy_address_is_judged_too(
    call: Call, make_runtime: MakeRuntime, other: Server, proxy_env: Callable[[str], None]
) -> None:
    proxy_env(other())
    outcome = call({"url": "http://proxied.invalid/get"}, make_runtime(trust_env_proxies=True))
    assert outcome.error.code == ErrorCode.POLICY_VIOLATION
    assert outcome.error.details["port"] == other.port


def test_a_proxy_cannot_route_around_the_policy(
    call: Call, make_runtime: MakeRuntime, other: Server, resolver_from: ResolverFrom, proxy_env: Callable[[str], None]
) -> None:
    """Targets sent to a proxy are judged first: by spelling, and by what this machine resolves them to."""
    proxy_env(other())
    resolver = resolver_from({"metadata.example": ["169.254.169.254"]})
    rt = make_runtime(other.allow, trust_env_proxies=True, resolver=resolver)
    for url in ("http://169.254.169.254/latest/", "http://metadata.example/latest/"):
        outcome = call({"url": url}, rt)
        assert outcome.error.code == ErrorCode.POLICY_VIOLATION, url
        assert outcome.error.details["rule"] == "metadata"


def test_no_proxy_sends_a_host_direct(
    call: Call,
    make_runtime: MakeRuntime,
    httpbin: Server,
    closed_port: int,
    proxy_env: Callable[[str], None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    proxy_env(f"http://127.0.0.1:{closed_port}")
    monkeypatch.setenv("NO_PROXY", "example.org,127.0.0.1")
    outcome = call({"url": httpbin("/get")}, make_runtime(httpbin.allow, trust_env_proxies=True))
    assert outcome.ok, outcome.error
