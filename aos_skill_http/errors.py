"""How `http_call` fails: its own exceptions, and the one place where failures become `SkillError`.

Raised below the client (by the address guard) and passed up through aiohttp untouched:

* AddressRefused   -> POLICY_VIOLATION   the network policy refused an address
* HostNotFound     -> DNS_FAILURE        the host name did not resolve

Translated from aiohttp by `translating` (first matching row of `_rows()` wins):

* TimeoutError (the call's deadline)                            -> TIMEOUT
* ClientConnectorError (nothing was sent: `details.request_sent`
  is false; a proxy that cannot be reached too)                 -> CONNECTION_FAILED
* InvalidURL                                                    -> INVALID_INPUT
* ClientPayloadError from a body that cannot be decoded
  (its cause a ContentEncodingError)                            -> OUTPUT_VALIDATION_FAILED
* any other ClientError (reset, disconnected, a broken
  response, a proxy's refusal)                                  -> CONNECTION_FAILED

A response's status becomes an error in `status_error`: 429 -> RATE_LIMITED (with the server's
Retry-After), other 4xx -> HTTP_4XX, 5xx -> HTTP_5XX. Anything else is a bug and is left to
surface as SKILL_CRASHED.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import cache
from http import HTTPStatus
from typing import Any, Protocol

from aos_core import ErrorCode, SkillError
from aos_skill_http.addresses import Refusal

__all__ = [
    "AddressRefused",
    "HostNotFound",
    "Where",
    "parse_retry_after",
    "status_error",
    "translating",
]

EXCERPT_CHARS = 300


class AddressRefused(Exception):
    """The network policy refused to connect to an address."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


class HostNotFound(Exception):
    """A host name did not resolve to any address."""

    def __init__(self, host: str, reason: str) -> None:
        super().__init__(f"could not resolve {host}: {reason}")
        self.host = host
        self.reason = reason


class Where(Protocol):
    """What a failure message names: the request in flight and its time limit."""

    @property
    def method(self) -> str: ...

    @property
    def url(self) -> str:
        """The current URL, credentials redacted."""
        ...

    @property
    def timeout_ms(self) -> int: ...


@cache
def _rows() -> tuple[tuple[type[BaseException], ErrorCode, str, bool], ...]:
    """(exception type, code, message, whether it proves nothing was sent), first match wins."""
    import aiohttp

    return (
        (TimeoutError, ErrorCode.TIMEOUT, "did not finish within {timeout_ms} ms", False),
        (aiohttp.ClientConnectorError, ErrorCode.CONNECTION_FAILED, "could not connect: {error}", True),
        (aiohttp.InvalidURL, ErrorCode.INVALID_INPUT, "is not a valid request: {error}", False),
        (_Undecodable, ErrorCode.OUTPUT_VALIDATION_FAILED, "sent a body that cannot be decoded: {error}", False),
        (aiohttp.ClientError, ErrorCode.CONNECTION_FAILED, "lost its connection: {error}", False),
    )


class _Undecodable(Exception):
    """A body aiohttp could not decode (bad gzip, brotli without its package): `_translate` tells
    it apart from other `ClientPayloadError`s by its cause."""


def _kind(exc: Exception) -> Exception:
    import aiohttp
    from aiohttp.http_exceptions import ContentEncodingError

    if isinstance(exc, aiohttp.ClientPayloadError) and isinstance(exc.__cause__, ContentEncodingError):
        return _Undecodable(str(exc))
    return exc


def translating(where: Where) -> AbstractContextManager[None]:
    """Turn what the block raises into a `SkillError` with a catalog code; the only such place."""
    return _Translating(where)


class _Translating:
    """`translating` as a plain context manager (entered on every call, so kept cheap)."""

    __slots__ = ("_where",)

    def __init__(self, where: Where) -> None:
        self._where = where

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, traceback: Any) -> None:
        if isinstance(exc, Exception):
            error = _translate(exc, self._where)
            if error is not None:
                raise error from exc


def _translate(exc: Exception, where: Where) -> SkillError | None:
    if isinstance(exc, AddressRefused):
        return SkillError(
            ErrorCode.POLICY_VIOLATION, exc.refusal.message, details={**exc.refusal.details(), "url": where.url}
        )
    if isinstance(exc, HostNotFound):
        return SkillError(
            ErrorCode.DNS_FAILURE,
            f"{where.method} {where.url}: could not resolve {exc.host} ({exc.reason})",
            details={"host": exc.host, "url": where.url},
        )
    kind = _kind(exc)
    for types, code, template, unsent in _rows():
        if isinstance(kind, types):
            error = _plain(str(exc) or type(exc).__name__, where.url)
            text = template.format(timeout_ms=where.timeout_ms, error=error)
            details: dict[str, Any] = {"url": where.url, "exception_type": type(exc).__name__}
            if code is ErrorCode.TIMEOUT:
                details["timeout_ms"] = where.timeout_ms
            if unsent:
                details["request_sent"] = False  # no connection, so nothing was sent: safe to retry any method
            return SkillError(code, f"{where.method} {where.url} {text}", details=details)
    return None


_SSL_NOTE = re.compile(r" ssl:(?:default|None|True|False|<[^>]*>)")
_CONNECT_CALL = re.compile(r"\[Connect call failed \('?([^',]+)'?, (\d+)\)\]")


def _plain(text: str, url: str) -> str:
    """aiohttp's connection message without its TLS note on a plain-http URL ("ssl:default") and
    with its tuple spelled as an address: `connection refused by 127.0.0.1:9`."""
    if url.startswith("http:"):
        text = _SSL_NOTE.sub("", text)
    return _CONNECT_CALL.sub(lambda m: f"(connection refused by {m.group(1)}:{m.group(2)})", text)


def parse_retry_after(value: str | None, now: Callable[[], datetime]) -> int | None:
    """Milliseconds to wait from a Retry-After value (seconds or an HTTP date), or None.

    `now` is called only for a date, so a run's clock is read only when it matters.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return int(text) * 1000
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0, round((when - now()).total_seconds() * 1000))


def status_error(
    status: int, where: Where, excerpt: str, retry_after: str | None, now: Callable[[], datetime]
) -> SkillError | None:
    """The error a response status means, or None for a status that is a result."""
    if status < 400 or status > 599:
        return None
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = ""
    said = f"{where.method} {where.url} answered {status} {phrase}".rstrip()
    details: dict[str, Any] = {"status": status, "url": where.url, "body": excerpt[:EXCERPT_CHARS]}
    wait = parse_retry_after(retry_after, now) if status in (429, 503) else None
    if wait is not None:
        details["retry_after_ms"] = wait
    if status == 429:
        hint = f"; retry after {wait} ms" if wait is not None else ""
        return SkillError(ErrorCode.RATE_LIMITED, said + hint, details=details, retry_after_ms=wait)
    if status >= 500:
        return SkillError(ErrorCode.HTTP_5XX, said, details=details, retry_after_ms=wait)
    return SkillError(ErrorCode.HTTP_4XX, said, details=details)
