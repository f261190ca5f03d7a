"""One `http_call`: the request, each redirect hop checked, the body read within its limit.

The skill speaks aiohttp natively through the seam (`transport.Pooled.send`): URLs are text
here (what the caller gave, what a redirect joined to, what the output and errors show) and
yarl URLs only to send; headers are a dict; the body is bytes; the response is aiohttp's, its
body read (decoded) up to the limit. Imported lazily by `HttpCall.execute` (it imports aiohttp
through `transport`).
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from yarl import URL

from aos_core import ErrorCode, SkillContext, SkillError
from aos_skill_http.body import decode_body
from aos_skill_http.connect import AddressGuard, Resolver, system_resolver
from aos_skill_http.credentials import cross_origin_headers, redact_headers, safe_url
from aos_skill_http.errors import status_error, translating
from aos_skill_http.models import HttpCallInput, HttpCallOutput
from aos_skill_http.transport import Clients, Pooled, Response

__all__ = ["RESOURCE_KEY", "perform"]

RESOURCE_KEY = "aos_skill_http.client"
DEFAULT_TIMEOUT_MS = 30_000
EXCERPT_BYTES = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_BODY_HEADERS = ("content-type", "content-length", "transfer-encoding")
_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass(slots=True)
class _Where:
    """The request in flight, for failure messages (implements `errors.Where`)."""

    method: str
    url: str
    timeout_ms: int


def _invalid(message: str, **details: Any) -> SkillError:
    """INVALID_INPUT; `details.parameter` names the parameter to fix when it is the caller's `url`."""
    if details.get("field") == "url":
        details["parameter"] = "url"
    return SkillError(ErrorCode.INVALID_INPUT, message, details=details)


def _check_url(url: str, guard: AddressGuard, field: str) -> None:
    """Refuse a bad URL, or a host the policy refuses whatever DNS says, before it is parsed to send.

    The host is read as a C resolver would (`0177.0.0.1`, `2130706433`, `localhost.`), so the
    refusal names the policy rule even for spellings a URL parser would reject as invalid.
    """
    host, port = _target(url, field)[1:]
    guard.check_fixed(host, port)


@lru_cache(maxsize=256)
def _target(url: str, field: str) -> tuple[str, str, int]:
    """The scheme, host and port a URL names (its origin; remembered: a skill calls the same few URLs
    again and again)."""
    control = _CONTROL.search(url)
    if control is not None:  # a URL parser drops a CR, LF or tab silently: another URL would be sent
        raise _invalid(
            f"{field} {safe_url(url)!r} holds a control character ({control.group()!r} at {control.start()}); "
            "percent-encode it",
            field=field,
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # its text may quote the user-info (a password): never shown
        raise _invalid(
            f"{field} {safe_url(url)!r} is not a valid URL (its host or port cannot be read)", field=field
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        shown = f"scheme {scheme!r}" if scheme else "no scheme"
        raise _invalid(f"{field} {safe_url(url)!r} has {shown}; only http and https are supported", field=field)
    if not parts.hostname:
        raise _invalid(f"{field} {safe_url(url)!r} has no host", field=field)
    return scheme, parts.hostname, port or _DEFAULT_PORTS[scheme]


# A URL already percent-encoded as RFC 3986 allows (every `%` starts an escape): sent as written,
# as httpx did, so a signed URL's `%2F` or `%3F` is not decoded on the way (yarl would decode them).
_ENCODED = re.compile(r"[-A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=]*(?:%[0-9A-Fa-f]{2}[-A-Za-z0-9._~:/?#\[\]@!$&'()*+,;=]*)*")


@lru_cache(maxsize=256)
def _parse(url: str, field: str) -> tuple[URL, str | None]:
    """The URL to send (without user-info) and the Basic Authorization its credentials make, or
    None; remembered like `_target` (yarl URLs are immutable, so shared). A URL that is already
    encoded goes as written; another (spaces, non-ASCII) is encoded by yarl."""
    try:
        parsed = URL(url, encoded=True) if _ENCODED.fullmatch(url) else URL(url)
    except (ValueError, TypeError):  # its text may quote the user-info (a password): never shown
        raise _invalid(f"{field} {safe_url(url)!r} is not a valid URL", field=field) from None
    if parsed.raw_user is None and parsed.raw_password is None:
        return parsed, None
    userinfo = f"{parsed.user or ''}:{parsed.password or ''}".encode()
    return parsed.with_user(None), "Basic " + base64.b64encode(userinfo).decode("ascii")


def _query_value(value: Any) -> str:
    """A query value as httpx writes it: `true`/`false` for booleans."""
    if value is True or value is False:
        return "true" if value else "false"
    return str(value)


def _with_params(url: str, params: dict[str, Any]) -> str:
    """The URL with `params` in its query: a key in both takes these values, the others stay in
    place; the query is written as `urlencode` writes it (what httpx did)."""
    parts = urlsplit(url)
    merged: dict[str, list[str]] = {}
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        merged.setdefault(key, []).append(value)
    for key, given in params.items():
        merged[key] = [_query_value(v) for v in (given if isinstance(given, list) else [given])]
    query = urlencode([(key, value) for key, values in merged.items() for value in values])
    return urlunsplit(parts._replace(query=query))


def _redirect_method(method: str, status: int) -> str:
    """What browsers and httpx do: 303 (and 302, and 301 after POST) turn into GET."""
    if (status == 303 and method != "HEAD") or (status == 302 and method != "HEAD"):
        return "GET"
    if status == 301 and method == "POST":
        return "GET"
    return method


def _location(url: str, location: str, where: _Where) -> str:
    """The URL a redirect points to, resolved against the URL that answered it."""
    try:
        return urljoin(url, location.strip())
    except ValueError as exc:
        raise _invalid(
            f"{where.method} {where.url} redirected to an invalid URL ({exc}); set follow_redirects to false to "
            "get the redirect itself",
            field="location",
            url=where.url,
        ) from None


async def _read(response: Response, limit: int, where: _Where, *, truncate: bool) -> bytes:
    """The decoded body, up to `limit` bytes; past it, cut short or fail, without reading on."""
    size, chunks = 0, []
    length = response.content_length
    if not truncate and length is not None and length > limit and "Content-Encoding" not in response.headers:
        size = length
    else:
        stream = response.content
        while size <= limit and not stream.at_eof():
            # a body that has all arrived is taken as it is, without waiting (most small bodies come whole)
            chunk = stream.read_nowait() if stream.is_eof() else await stream.readany()
            chunks.append(chunk)
            size += len(chunk)
    if size <= limit:
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    if truncate:
        return b"".join(chunks)[:limit]
    raise SkillError(
        ErrorCode.OUTPUT_VALIDATION_FAILED,
        f"{where.method} {where.url} sent more than {limit} bytes (max_response_bytes); "
        "raise the limit or ask for less",
        details={"rule": "max_response_bytes", "limit": limit, "url": where.url},
    )


def _time_limit_ms(params: HttpCallInput, ctx: SkillContext) -> int:
    own, deadline = params.timeout_ms, ctx.deadline_ms
    if deadline is None:
        return DEFAULT_TIMEOUT_MS if own is None else max(1, own)
    return max(1, int(deadline if own is None or own >= deadline else own))


def _own_deadline(params: HttpCallInput, ctx: SkillContext) -> bool:
    """Whether the skill arms its own deadline: when `timeout_ms` is shorter than the call's
    (`ctx.deadline_ms`), or the call has none. The runtime arms the call's deadline around the call
    before the skill can arm one for the same instant, so at an equal limit the runtime's fires first
    and its TIMEOUT is the one reported either way: a second timer would only cost (~8 µs a call at
    64 in flight), and so would entering a null context in its place (two coroutines a call)."""
    deadline = ctx.deadline_ms
    return deadline is None or (params.timeout_ms is not None and params.timeout_ms < deadline)


def _pooled(ctx: SkillContext, resolver: Resolver | None) -> Pooled:
    """This runtime's pooled client for the call's network policy."""
    clients = ctx.resource(RESOURCE_KEY, lambda: _clients(ctx, resolver))
    try:
        return clients.get(ctx.policy.network)
    except ValueError as exc:  # a malformed allow entry or environment proxy URL
        raise SkillError(
            ErrorCode.INVALID_INPUT,
            f"the network settings are invalid: {exc}",
            details={"rule": "policy.network", "field": "policy.network"},
        ) from exc


def _clients(ctx: SkillContext, resolver: Resolver | None) -> Clients:
    """The runtime's pooled clients, made on its first call (so its configuration is checked then, and
    on every call again while it is wrong: no clients are kept)."""
    if "backend" in ctx.config:
        raise SkillError(
            ErrorCode.INVALID_INPUT,
            f"skills.http_call.backend is set ({ctx.config['backend']!r}), but http_call has one engine "
            "(aiohttp) and no such setting any more; remove the key from the configuration",
            details={"rule": "skills.http_call.backend", "field": "backend"},
        )
    return Clients(resolver or system_resolver)


async def perform(params: HttpCallInput, ctx: SkillContext, resolver: Resolver | None = None) -> HttpCallOutput:
    """Make the request described by `params` under `ctx.policy.network`."""
    pooled = _pooled(ctx, resolver)
    limit_ms = _time_limit_ms(params, ctx)
    where = _Where(params.method, safe_url(params.url), limit_ms)
    started = ctx.clock.monotonic()
    with translating(where):
        _check_url(params.url, pooled.guard, "url")
        url = _with_params(params.url, params.params) if params.params else params.url
        if _own_deadline(params, ctx):
            async with asyncio.timeout(limit_ms / 1000.0):
                return await _exchange(pooled, params, ctx, url, where, started)
        return await _exchange(pooled, params, ctx, url, where, started)


def _request_body(params: HttpCallInput) -> tuple[bytes | None, str | None]:
    """The body to send, and the Content-Type it implies when the caller sets none (as httpx encodes them)."""
    if params.json_body is not None:
        text = json.dumps(params.json_body, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        return text.encode(), "application/json"
    if params.content is not None:
        return params.content.encode(), None
    return None, None


def _first_headers(params: HttpCallInput, ctx: SkillContext, content_type: str | None) -> dict[str, str]:
    headers = _with_traceparent(params.headers, ctx)
    if content_type is not None and not any(name.lower() == "content-type" for name in headers):
        headers = {**headers, "Content-Type": content_type}
    return headers


async def _exchange(
    pooled: Pooled, params: HttpCallInput, ctx: SkillContext, url: str, where: _Where, started: float
) -> HttpCallOutput:
    """Send the request and follow its redirects, one checked hop at a time."""
    redirects: list[str] = []
    method: str = params.method
    body, content_type = _request_body(params)
    headers = _first_headers(params, ctx, content_type)
    while True:
        target, authorization = _parse(url, "redirect" if redirects else "url")
        sent = headers
        if authorization is not None:  # credentials in the URL: Basic auth, in place of any the caller set
            sent = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            sent["Authorization"] = authorization
        where.method, where.url = method, safe_url(url)
        response = await pooled.send(method, target, sent, body)
        try:
            status = response.status
            location = response.headers.get("Location") if params.follow_redirects and status in _REDIRECTS else None
            if location is None:
                return await _output(response, params, ctx, where, redirects, started)
            if len(redirects) >= params.max_redirects:
                raise SkillError(
                    ErrorCode.POLICY_VIOLATION,
                    f"{method} {where.url} redirected more than max_redirects={params.max_redirects} times; "
                    "raise max_redirects or call the final URL",
                    details={"rule": "max_redirects", "limit": params.max_redirects, "redirects": redirects},
                )
            next_url = _location(url, location, where)
            next_method = _redirect_method(method, status)
            where.method, where.url = next_method, safe_url(next_url)
            _check_url(next_url, pooled.guard, "redirect")
            if next_method != method:
                body = None
                headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
            if _target(next_url, "redirect") != _target(url, "redirect" if redirects else "url"):
                headers = cross_origin_headers(headers, ctx.secrets.contains_secret)
                if body is not None and _body_has_secret(params, ctx):
                    raise SkillError(
                        ErrorCode.POLICY_VIOLATION,
                        f"{method} {where.url} would carry a secret in its body to another origin; "
                        "not followed (set follow_redirects to false to get the redirect itself)",
                        details={"rule": "redirect_secrets", "url": where.url},
                    )
            method, url = next_method, next_url
            redirects.append(where.url)
        finally:
            response.release()  # the connection goes back to the pool only if the body was read to its end


def _with_traceparent(headers: dict[str, str], ctx: SkillContext) -> dict[str, str]:
    """The request's headers with the call's W3C `traceparent` (when it is part of a trace and the
    caller set none), so the trace continues in the service called. Not part of the recorded
    parameters: a replay compares and serves the same call."""
    traceparent = getattr(ctx, "traceparent", None)  # a context from an older aos-core has none
    if not traceparent or any(name.lower() == "traceparent" for name in headers):
        return headers
    return {**headers, "traceparent": traceparent}


def _body_has_secret(params: HttpCallInput, ctx: SkillContext) -> bool:
    if params.content is not None:
        return ctx.secrets.contains_secret(params.content)
    if params.json_body is not None:
        return ctx.secrets.contains_secret(json.dumps(params.json_body, ensure_ascii=False))
    return False


async def _output(
    response: Response,
    params: HttpCallInput,
    ctx: SkillContext,
    where: _Where,
    redirects: list[str],
    started: float,
) -> HttpCallOutput:
    status = response.status
    headers = redact_headers(response.headers.items())
    if status >= 400:
        excerpt = await _read(response, min(EXCERPT_BYTES, params.max_response_bytes), where, truncate=True)
        error = status_error(
            status, where, excerpt.decode("utf-8", "replace"), headers.get("retry-after"), ctx.clock.now
        )
        if error is not None:
            raise error
    content = b"" if where.method == "HEAD" else await _read(response, params.max_response_bytes, where, truncate=False)
    body, encoding = decode_body(content, headers.get("content-type"))
    return HttpCallOutput(
        status=status,
        headers=headers,
        body=body,
        body_encoding=encoding,
        final_url=where.url,
        elapsed_ms=round((ctx.clock.monotonic() - started) * 1000.0, 3),
        redirects=redirects,
    )
