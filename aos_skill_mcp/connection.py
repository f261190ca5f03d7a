"""Sessions with MCP servers: one per server per `Runtime`, started on the first call, restarted
after the server died.

A session is pooled like the runtime's HTTP clients (`ctx.resource`), so it is closed when the
`Runtime` closes. It lives on an event loop of its own, in a daemon thread: the MCP SDK's client
runs in anyio task groups and async generators, which must be entered and left by one task, and a
runtime's loop finalises every async generator still open when it shuts down, from another task.
On its own loop the session has an *owner task* that enters the client, reports it ready and waits
to be told to stop; calls run as tasks of that loop, awaited (and cancelled) from the caller's.

A stdio server's stderr goes to a temporary file (never to ours: a server may print its
environment); its last line is quoted when the server dies during a call or cannot start. For the
same reason the SDK's own log records (a line the server wrote to stdout that is not JSON-RPC, with
its traceback) are not printed by Python's last-resort handler: they reach only the handlers an
embedder configured. Imported only when a tool is called: it imports the MCP SDK.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
import threading
from typing import Any

from aos_core import ErrorCode, SkillError
from aos_skill_mcp.config import ServerConfig
from aos_skill_mcp.errors import connection_lost, from_exception, not_started

__all__ = ["ServerSession", "resolve_values", "session_for"]

_STOP_TIMEOUT_S = 10.0
_MAX_PAGES = 100
_STDERR_TAIL = 4096
_REF_PREFIX = "${secrets."

logging.getLogger("mcp").addHandler(logging.NullHandler())  # no traceback of the SDK's on a user's terminal


def resolve_values(values: dict[str, str], secrets: Any, label: str) -> dict[str, str]:
    """`values` with `${secrets.NAME}` resolved; every value is remembered as a secret (redacted
    from everything AOS writes). `SkillError(INVALID_INPUT)` naming a secret that is not set."""
    import re

    resolved = {}
    for key, value in values.items():
        names = re.findall(r"\$\{secrets\.([A-Za-z_][A-Za-z0-9_]*)\}", value)
        text = value
        for name in names:
            try:
                secret = secrets.find(name)
            except LookupError as exc:  # the secrets provider failed: as good as not set, with its reason
                raise SkillError(
                    ErrorCode.INVALID_INPUT, f"{label}.{key}: {exc}", details={"secret": name, "request_sent": False}
                ) from None
            if secret is None:
                raise SkillError(
                    ErrorCode.INVALID_INPUT,
                    f"secret {name} (in {label}.{key}) is not set; export {name}=... or configure a secrets provider",
                    details={"secret": name, "request_sent": False},
                )
            text = text.replace(f"{_REF_PREFIX}{name}}}", secret)
        secrets.remember(text, f"{label}.{key}")
        resolved[key] = text
    return resolved


class ServerSession:
    """One live MCP client session with one server (see the module docstring)."""

    def __init__(self, name: str, server: ServerConfig) -> None:
        self.name = name
        self.server = server
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread_lock = threading.Lock()
        # the rest is touched only on the session's own loop
        self._client: Any = None
        self._owner: asyncio.Future[None] | None = None
        self._stop: asyncio.Event | None = None
        self._lock: asyncio.Lock | None = None
        self._starting: asyncio.Future[Any] | None = None
        self._stderr: Any = None
        self._broken = False

    # -- from any loop -----------------------------------------------------------------------
    async def call_tool(self, tool: str, arguments: dict[str, Any], secrets: Any) -> Any:
        """Call `tool` once: the `CallToolResult`, or a `SkillError` with the failure's code."""
        return await self._on_session_loop(self._call(tool, arguments, secrets))

    async def list_tools(self, secrets: Any) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
        """Every tool (as `tools/list` sends it), the server's name and version, the protocol version."""
        return await self._on_session_loop(self._list(secrets))

    async def aclose(self) -> None:
        """Stop the server (stdio: close its stdin, then terminate it) and the session's loop."""
        with self._thread_lock:
            loop, self._loop = self._loop, None
        if loop is None:
            return
        done = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
        try:
            await asyncio.wait_for(asyncio.wrap_future(done), _STOP_TIMEOUT_S)
        finally:
            loop.call_soon_threadsafe(loop.stop)

    async def _on_session_loop(self, coro: Any) -> Any:
        with self._thread_lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                thread = threading.Thread(
                    target=_run_loop, args=(self._loop,), name=f"aos-mcp-{self.name}", daemon=True
                )
                thread.start()
            loop = self._loop
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    # -- on the session's loop ---------------------------------------------------------------------
    async def _call(self, tool: str, arguments: dict[str, Any], secrets: Any) -> Any:
        client = await self._client_for(secrets)
        try:
            return await client.call_tool(tool, arguments)
        except Exception as exc:
            mapped = from_exception(self.name, tool, exc)
            if mapped is None and _is_stream_failure(exc):
                mapped = connection_lost(self.name, tool, _describe(exc), None)
            if mapped is None:
                raise
            if mapped.code is ErrorCode.CONNECTION_FAILED:
                self._broken = True
                await asyncio.sleep(0.05)  # let the dying transport settle, so stderr has the server's last words
                tail = self.stderr_tail()
                if tail:
                    mapped = connection_lost(self.name, tool, "it exited or crashed", tail)
            raise mapped from None

    async def _list(self, secrets: Any) -> tuple[list[dict[str, Any]], dict[str, Any], str]:
        client = await self._client_for(secrets)
        tools: list[dict[str, Any]] = []
        cursor = None
        for _ in range(_MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            tools.extend(t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        info = client.server_info
        described = {"name": info.name, "version": info.version} if info is not None else {}
        return tools, described, str(client.protocol_version)

    async def _client_for(self, secrets: Any) -> Any:
        """The connected client, starting (or restarting) the server when needed. The start is
        shielded: a call that gives up while the server starts (its timeout) leaves it starting,
        for the next call to use."""
        if self._client is not None and not self._broken:
            return self._client
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._client is not None and not self._broken:
                return self._client
            starting = self._starting
            if starting is None or starting.done():
                await self._shutdown()
                starting = self._starting = asyncio.ensure_future(self._start(secrets))
                starting.add_done_callback(lambda f: f.cancelled() or f.exception())  # heard even if nobody waits
        return await asyncio.shield(starting)

    def stderr_tail(self) -> str | None:
        """The last non-empty line a stdio server wrote to stderr, or None."""
        if self._stderr is None:
            return None
        fd = self._stderr.fileno()
        size = os.fstat(fd).st_size
        data = os.pread(fd, _STDERR_TAIL, max(0, size - _STDERR_TAIL))  # pread: the child's offset stays put
        lines = [line.strip() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
        return lines[-1] if lines else None

    async def _start(self, secrets: Any) -> Any:
        server = self.server
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Any] = loop.create_future()
        ready.add_done_callback(lambda f: f.cancelled() or f.exception())  # an unheard failure is not "never retrieved"
        self._stop = asyncio.Event()
        self._broken = False
        if server.command is not None:
            env = resolve_values(server.env, secrets, f"plugins.mcp.servers.{self.name}.env")
            self._stderr = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 - closed in _shutdown
            owner = self._own_stdio(env, ready)
        else:
            headers = resolve_values(server.headers, secrets, f"plugins.mcp.servers.{self.name}.headers")
            owner = self._own_http(headers, ready)
        self._owner = asyncio.ensure_future(self._guarded(owner, ready))
        try:
            self._client = await asyncio.wait_for(asyncio.shield(ready), server.startup_timeout_ms / 1000.0)
        except TimeoutError:
            await self._shutdown()
            raise not_started(
                self.name,
                f"it did not finish its handshake within {server.startup_timeout_ms} ms",
                reason="startup_timeout",
            ) from None
        except SkillError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure to start is "cannot reach", with its reason
            tail = self.stderr_tail()
            await self._shutdown()
            said = f"; its last stderr line: {tail}" if tail else ""
            raise not_started(self.name, f"{_describe(exc)}{said}") from None
        return self._client

    async def _own_stdio(self, env: dict[str, str], ready: asyncio.Future[Any]) -> None:
        from mcp import StdioServerParameters
        from mcp.client.stdio import stdio_client

        server = self.server
        assert server.command is not None
        params = StdioServerParameters(command=server.command, args=list(server.args), env=env, cwd=server.cwd)
        await self._own(stdio_client(params, errlog=self._stderr), ready)

    async def _own_http(self, headers: dict[str, str], ready: asyncio.Future[Any]) -> None:
        import httpx2
        from mcp.client.streamable_http import streamable_http_client

        assert self.server.url is not None
        timeout = httpx2.Timeout(30.0, read=300.0)
        async with httpx2.AsyncClient(headers=headers, timeout=timeout, trust_env=False) as http:
            await self._own(streamable_http_client(self.server.url, http_client=http), ready)

    async def _own(self, transport: Any, ready: asyncio.Future[Any]) -> None:
        from mcp import Client, Implementation

        from aos_skill_mcp import __version__

        stop = self._stop
        assert stop is not None
        async with Client(transport, cache=None, client_info=Implementation(name="aos", version=__version__)) as client:
            ready.set_result(client)
            await stop.wait()

    async def _guarded(self, owner: Any, ready: asyncio.Future[Any]) -> None:
        """Run the owner; whatever ends it ends the session, and a start still waited for hears why."""
        try:
            await owner
        except Exception as exc:  # noqa: BLE001 - reported to the start that waits, else the session just ends
            if not ready.done():
                ready.set_exception(exc)
        finally:
            self._broken = True
            if not ready.done():
                ready.set_exception(ConnectionError("the session ended before it was ready"))

    async def _shutdown(self) -> None:
        """End the owner task, and with it the server. A session that is ready is told to stop; one
        still in its handshake (a server that never answers) cannot hear that, so it is cancelled,
        and awaited either way: the transport's exit (shielded) terminates the server's process."""
        owner, client, self._owner, self._client = self._owner, self._client, None, None
        if owner is not None and not owner.done():
            if client is not None and self._stop is not None:
                self._stop.set()
                await asyncio.wait({owner}, timeout=_STOP_TIMEOUT_S)
            if not owner.done():
                owner.cancel()
                await asyncio.wait({owner}, timeout=_STOP_TIMEOUT_S)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None


def session_for(name: str, server: ServerConfig, fingerprint: str, ctx: Any) -> ServerSession:
    """This runtime's session with server `name` (pooled, made on first use)."""
    return ctx.resource(f"aos_skill_mcp.session.{name}.{fingerprint}", lambda: ServerSession(name, server))


def _run_loop(loop: asyncio.AbstractEventLoop) -> None:
    asyncio.set_event_loop(loop)
    try:
        loop.run_forever()
    finally:
        loop.close()


def _is_stream_failure(exc: BaseException) -> bool:
    import anyio

    return isinstance(exc, anyio.ClosedResourceError | anyio.BrokenResourceError | anyio.EndOfStream | ConnectionError)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, BaseExceptionGroup):
        exc = exc.exceptions[0]
        return _describe(exc)
    if isinstance(exc, FileNotFoundError):
        return f"command not found: {exc.filename or exc}"
    text = " ".join(str(exc).split())[:200]
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
