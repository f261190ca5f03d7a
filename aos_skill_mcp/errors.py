"""MCP failures as AOS failures: each one a `SkillError` with a catalog code and one actionable line.

    a tool result with isError              TOOL_ERROR (permanent), the tool's own text as message
    the connection closed during a call     CONNECTION_FAILED (transient): the server exited or crashed;
      (the server process exited)           its session is restarted on the next call
    the server cannot be started/reached    CONNECTION_FAILED, details.request_sent false (safe to retry)
    a JSON-RPC error: invalid params        INVALID_INPUT; method not found: SKILL_NOT_FOUND; the SDK's
                                            request timeout: TIMEOUT; any other: TOOL_ERROR
    an HTTP status from a remote server     401/403 PERMISSION_DENIED, 429 RATE_LIMITED, 4xx HTTP_4XX,
                                            5xx HTTP_5XX
    a result that breaks the protocol       OUTPUT_VALIDATION_FAILED

Messages never quote a server's environment or headers (they may hold secrets); what a tool or
server says is quoted, and the pipeline redacts every secret value from it anyway.
Imported only when a tool is called.
"""

from __future__ import annotations

from typing import Any

from aos_core import ErrorCode, SkillError

__all__ = ["connection_lost", "from_exception", "not_started", "tool_error"]

_TEXT_LIMIT = 300
_DETAIL_LIMIT = 10_000
_CONNECTION_CLOSED = -32000
_REQUEST_TIMEOUT = -32001
_METHOD_NOT_FOUND = -32601
_INVALID_PARAMS = -32602


def _line(text: str, limit: int = _TEXT_LIMIT) -> str:
    one = " ".join(str(text).split())
    return one if len(one) <= limit else one[: limit - 3] + "..."


def tool_error(server: str, tool: str, text: str, content: list[dict[str, Any]]) -> SkillError:
    """The tool ran and said it failed (`isError`)."""
    return SkillError(
        ErrorCode.TOOL_ERROR,
        f"MCP tool {tool} of server {server} reported an error: {_line(text) or '(no text)'}",
        details={"server": server, "tool": tool, "text": text[:_DETAIL_LIMIT], "content_blocks": len(content)},
    )


def connection_lost(server: str, tool: str, why: str, stderr_tail: str | None) -> SkillError:
    """The session died under the call: the request was sent, its effect is unknown."""
    said = f"; its last stderr line: {_line(stderr_tail, 200)}" if stderr_tail else ""
    return SkillError(
        ErrorCode.CONNECTION_FAILED,
        f"MCP server {server} closed the connection during a call of {tool} ({why}); "
        f"it is restarted on the next call{said}",
        details={"server": server, "tool": tool, "reason": "server_exited", "request_sent": True},
    )


def not_started(server: str, why: str, *, reason: str = "cannot_start") -> SkillError:
    """The server could not be started or reached: nothing was sent."""
    return SkillError(
        ErrorCode.CONNECTION_FAILED,
        f"cannot reach MCP server {server}: {_line(why)}; check plugins.mcp.servers.{server} and `aos mcp refresh`",
        details={"server": server, "reason": reason, "request_sent": False},
    )


def from_exception(server: str, tool: str, exc: BaseException) -> SkillError | None:
    """The `SkillError` for what the MCP SDK raised during a call, or None when it is not an MCP failure."""
    from mcp.shared.exceptions import MCPError

    if isinstance(exc, MCPError):
        return _jsonrpc(server, tool, exc.code, exc.message)
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(status, int) and 400 <= status < 600:
        return _http(server, tool, status)
    from pydantic import ValidationError

    if isinstance(exc, RuntimeError) and "structured content" in str(exc):  # the SDK checked the output schema
        return SkillError(
            ErrorCode.OUTPUT_VALIDATION_FAILED,
            f"MCP tool {tool} of server {server} returned output that breaks its output schema: {_line(str(exc))}",
            details={"server": server, "tool": tool},
        )
    if isinstance(exc, ValidationError):
        return SkillError(
            ErrorCode.OUTPUT_VALIDATION_FAILED,
            f"MCP server {server} answered a call of {tool} with a result that breaks the protocol "
            f"({exc.error_count()} error(s)); report it to the server's author",
            details={"server": server, "tool": tool},
        )
    return None


def _jsonrpc(server: str, tool: str, code: int, message: str) -> SkillError:
    said = _line(message)
    details = {"server": server, "tool": tool, "mcp_code": code}
    if code == _CONNECTION_CLOSED:
        return connection_lost(server, tool, said or "connection closed", None)
    if code == _REQUEST_TIMEOUT:
        return SkillError(
            ErrorCode.TIMEOUT, f"MCP server {server} did not answer {tool} in time: {said}", details=details
        )
    if code == _INVALID_PARAMS:
        return SkillError(
            ErrorCode.INVALID_INPUT,
            f"MCP server {server} refused the arguments of {tool}: {said}; if the tool changed, run `aos mcp refresh`",
            details=details,
        )
    if code == _METHOD_NOT_FOUND:
        return SkillError(
            ErrorCode.SKILL_NOT_FOUND,
            f"MCP server {server} does not serve {tool} ({said}); run `aos mcp refresh`",
            details=details,
        )
    return SkillError(ErrorCode.TOOL_ERROR, f"MCP server {server} failed the call of {tool}: {said}", details=details)


def _http(server: str, tool: str, status: int) -> SkillError:
    details = {"server": server, "tool": tool, "status": status}
    if status in (401, 403):
        return SkillError(
            ErrorCode.PERMISSION_DENIED,
            f"MCP server {server} refused the credentials (HTTP {status}); check plugins.mcp.servers.{server}.headers",
            details=details,
        )
    if status == 429:
        return SkillError(
            ErrorCode.RATE_LIMITED, f"MCP server {server} is rate limiting calls (HTTP 429)", details=details
        )
    code = ErrorCode.HTTP_5XX if status >= 500 else ErrorCode.HTTP_4XX
    return SkillError(code, f"MCP server {server} answered a call of {tool} with HTTP {status}", details=details)
