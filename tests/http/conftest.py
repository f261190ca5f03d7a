"""Fixtures for http_call: real httpbin servers on 127.0.0.1, runtimes under a given policy, sockets.

The servers are httpbin (from PyPI) on werkzeug's threaded server, one per session, on ports
the OS picks; nothing here leaves the loopback interface.

`make_runtime(config=...)` passes a `skills.http_call` configuration.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

import aos_skill_http.plugin
from aos_core import AgentProfile, NetworkPolicy, Policy, RetryPolicy, Runtime, StructuredOutcome, hookimpl
from aos_core.hookspecs import Register
from aos_skill_http import HttpCall
from aos_skill_http.connect import Resolver

DECLARED = frozenset(HttpCall.metadata.failure_codes)


@dataclass(frozen=True)
class Server:
    """A running server: `server("/get")` is a URL on it; `allow` opens its port only."""

    port: int

    @property
    def allow(self) -> str:
        return f"127.0.0.1:{self.port}"

    def __call__(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


def _with_retry_after(app: Any) -> Any:
    """httpbin's /status/429 cannot send Retry-After; this adds the value of `?retry_after=`, nothing else."""

    def middleware(environ: dict[str, Any], start_response: Any) -> Any:
        wait = parse_qs(environ.get("QUERY_STRING", "")).get("retry_after")
        if not wait:
            return app(environ, start_response)

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, ("Retry-After", wait[0])], exc_info)

        return app(environ, start)

    return middleware


def _serve(app: Any) -> Iterator[Server]:
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"httpbin-{server.port}", daemon=True
    )
    thread.start()
    try:
        yield Server(server.port)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def httpbin() -> Iterator[Server]:
    """httpbin on 127.0.0.1 (plus Retry-After on request)."""
    import httpbin as httpbin_app

    yield from _serve(_with_retry_after(httpbin_app.app))


@pytest.fixture(scope="session")
def other() -> Iterator[Server]:
    """A second httpbin on another port: another origin, for cross-origin redirects and proxies."""
    import httpbin as httpbin_app

    yield from _serve(httpbin_app.app)


@dataclass(frozen=True)
class CountingServer(Server):
    """A server that counts every request it receives by (method, path): `/status/CODE` answers
    CODE, `/slow` answers after a second, anything else answers 200 with a small JSON body."""

    hits: Counter[tuple[str, str]] = field(default_factory=Counter)


def _counting(hits: Counter[tuple[str, str]]) -> Any:
    lock = threading.Lock()

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        with lock:
            hits[(method, path)] += 1
        if path.startswith("/status/"):
            start_response(f"{path.rsplit('/', 1)[1]} Status", [("Content-Type", "text/plain")])
            return [b"as asked"]
        if path == "/slow":
            time.sleep(1.0)
        start_response("200 OK", [("Content-Type", "application/json")])
        return [b'{"ok": true}']

    return app


@pytest.fixture
def counting() -> Iterator[CountingServer]:
    """A fresh counting server on 127.0.0.1 for one test."""
    hits: Counter[tuple[str, str]] = Counter()
    for server in _serve(_counting(hits)):
        yield CountingServer(server.port, hits)


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A listening socket nobody accepts on: a connection attempt would wait in its queue."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port that is bound but not listening: connecting to it is refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


class _Plugin:
    """A plugin registering an `HttpCall` built with a fake resolver."""

    def __init__(self, skill: HttpCall) -> None:
        self.skill = skill

    @hookimpl
    def aos_register_skills(self, register: Register) -> None:
        register(self.skill)


def table_resolver(table: dict[str, list[str]]) -> Resolver:
    """A resolver answering from `table`; unknown names fail like NXDOMAIN."""
    from aos_skill_http.errors import HostNotFound

    async def resolve(host: str, port: int) -> list[str]:
        if host not in table:
            raise HostNotFound(host, "not in the test's table")
        return table[host]

    return resolve


MakeRuntime = Callable[..., Runtime]


@pytest.fixture
def make_runtime() -> Iterator[MakeRuntime]:
    """Build runtimes with http_call under a network policy; all are closed after the test."""
    made: list[Runtime] = []

    def make(
        *allow: str,
        max_attempts: int = 3,
        trust_env_proxies: bool = False,
        resolver: Resolver | None = None,
        timeouts_ms: dict[str, int] | None = None,
        clock: Any = None,
        config: dict[str, Any] | None = None,
    ) -> Runtime:
        policy = Policy(
            network=NetworkPolicy(allow=allow, trust_env_proxies=trust_env_proxies),
            retry=RetryPolicy(max_attempts=max_attempts, base_delay_ms=1, max_delay_ms=5),
            timeouts_ms=timeouts_ms or {},
        )
        plugin = aos_skill_http.plugin if resolver is None else _Plugin(HttpCall(resolver))
        runtime = Runtime(
            entry_points=False,
            plugins=[plugin],
            profile=AgentProfile(policy=policy),
            clock=clock,
            config={"skills": {"http_call": config}} if config else None,
        )
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.close()


Call = Callable[..., StructuredOutcome]


@pytest.fixture
def call(make_runtime: MakeRuntime, httpbin: Server, other: Server) -> Call:
    """`call(params, runtime=None)`: http_call through a runtime (default: both servers allowed).

    Checks every failure's code against the codes the skill declares.
    """
    default = make_runtime(httpbin.allow, other.allow)

    def run(params: dict[str, Any], runtime: Runtime | None = None) -> StructuredOutcome:
        outcome = (runtime or default).execute("http_call", params)
        if outcome.error is not None:
            assert outcome.error.code in DECLARED, f"{outcome.error.code} is not declared by http_call"
        return outcome

    return run


def no_connection_attempted(sock: socket.socket) -> bool:
    """True when nothing has connected to the listening socket."""
    try:
        conn, _ = sock.accept()
    except BlockingIOError:
        return True
    conn.close()
    return False


@pytest.fixture
def nothing_connected() -> Callable[[socket.socket], bool]:
    return no_connection_attempted


@pytest.fixture
def resolver_from() -> Callable[[dict[str, list[str]]], Resolver]:
    return table_resolver
