"""One `http_call`: the request, each redirect hop checked, the body read within its limit.

Imported lazily by `HttpCall.execute` (it imports the HTTP library through `transport`).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from aos_core import ErrorCode, SkillContext, SkillError
from aos_skill_http.body import decode_body
from aos_skill_http.connect import AddressGuard, Resolver, system_resolver
from aos_skill_http.credentials import cross_origin_headers, redact_headers, safe_url
from aos_skill_http.errors import status_error, translating
from aos_skill_http.models import HttpCallInput, HttpCallOutput
from aos_skill_http.transport import Clients, Pooled, ReadBody, httpx

__all__ = ["RESOURCE_KEY", "perform"]

RESOURCE_KEY = "aos_skill_http.client"
DEFAULT_TIMEOUT_MS = 30_000
EXCERPT_BYTES = 2048
_DEFAULT_PORTS = {"http": 80, "https": 443}
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
    """Refuse a bad URL, or a host the policy refuses whatever DNS says, before httpx parses it.

    The host is read as a C resolver would (`0177.0.0.1`, `2130706433`, `localhost.`), so the
    refusal names the policy rule even for spellings httpx itself would reject as invalid.
    """
    host, port = _target(url, field)
    guard.check_fixed(host, port)


@lru_cache(maxsize=256)
def _target(url: str, field: str) -> tuple[str, int]:
    """The host and port a URL names (remembered: a skill calls the same few URLs again and again)."""
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
    return parts.hostname, port or _DEFAULT_PORTS[scheme]


@lru_cache(maxsize=256)
def _parse(url: str) -> httpx.URL:
    """httpx's reading of a URL (immutable, so shared), remembered like `_target`."""
    return httpx.URL(url)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or _DEFAULT_PORTS.get(url.scheme)


def _redirect_method(method: str, status: int) -> str:
    """What browsers and httpx do: 303 (and 302, and 301 after POST) turn into GET."""
    if (status == 303 and method != "HEAD") or (status == 302 and method != "HEAD"):
        return "GET"
    if status == 301 and method == "POST":
        return "GET"
    return method


def _location(request: httpx.Request, response: httpx.Response, where: _Where) -> httpx.URL:
    location = response.headers["location"]
    try:
        url = httpx.URL(location)
        if url.scheme and not url.host:
            url = url.copy_with(host=request.url.host)
        if url.is_relative_url:
            url = request.url.join(url)
    except httpx.InvalidURL as exc:
        raise _invalid(
            f"{where.method} {where.url} redirected to an invalid URL ({exc}); set follow_redirects to false to "
            "get the redirect itself",
            field="location",
            url=where.url,
        ) from None
    return url


async def _read(
    response: httpx.Response, headers: dict[str, str], limit: int, where: _Where, *, truncate: bool
) -> bytes:
    """The decoded body, up to `limit` bytes; past it, cut short or fail, without reading on."""
    stream = response.stream
    if isinstance(stream, ReadBody):  # read already by the engine: small, and not encoded
        content = stream.body
        size, chunks = len(content), [content]
    else:
        size, chunks = 0, []
        length = headers.get("content-length", "")
        if not truncate and length.isdigit() and "content-encoding" not in headers and int(length) > limit:
            size = int(length)
        else:
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                size += len(chunk)
                if size > limit:
                    break
    if size <= limit:
        return b"".join(chunks)
    if truncate:
        return b"".join(chunks)[:limit]
    raise SkillError(
        ErrorCode.OUTPUT_VALIDATION_FAILED,
        f"{where.method} {where.url} sent more than {limit} bytes (max_response_bytes); "
        "raise the limit or ask for less",
        details={"rule": "max_response_bytes", "limit": limit, "url": where.url},
    )


def _time_limit_ms(params: HttpCallInput, ctx: SkillContext) -> int:
    limits = [limit for limit in (params.timeout_ms, ctx.deadline_ms) if limit is not None]
    return max(1, int(min(limits))) if limits else DEFAULT_TIMEOUT_MS


def _pooled(ctx: SkillContext, resolver: Resolver | None) -> Pooled:
    """This runtime's pooled client for the call's network policy."""
    if "backend" in ctx.config:
        raise SkillError(
            ErrorCode.INVALID_INPUT,
            f"skills.http_call.backend is set ({ctx.config['backend']!r}), but http_call has one engine "
            "(aiohttp) and no such setting any more; remove the key from the configuration",
            details={"rule": "skills.http_call.backend", "field": "backend"},
        )
    clients = ctx.resource(RESOURCE_KEY, lambda: Clients(resolver or system_resolver))
    try:
        return clients.get(ctx.policy.network)
    except ValueError as exc:  # a malformed allow entry or environment proxy URL
        raise SkillError(
            ErrorCode.INVALID_INPUT,
            f"the network settings are invalid: {exc}",
            details={"rule": "policy.network", "field": "policy.network"},
        ) from exc


async def perform(params: HttpCallInput, ctx: SkillContext, resolver: Resolver | None = None) -> HttpCallOutput:
    """Make the request described by `params` under `ctx.policy.network`."""
    pooled = _pooled(ctx, resolver)
    limit_ms = _time_limit_ms(params, ctx)
    where = _Where(params.method, safe_url(params.url), limit_ms)
    started = ctx.clock.monotonic()
    with translating(where):
        _check_url(params.url, pooled.guard, "url")
        url = _parse(params.url)
        if params.params:  # added to the URL's own query (httpx's `params=` would replace it)
            url = url.copy_merge_params(params.params)
        async with asyncio.timeout(limit_ms / 1000.0):
            return await _exchange(pooled, params, ctx, url, where, started)


async def _exchange(
    pooled: Pooled, params: HttpCallInput, ctx: SkillContext, url: httpx.URL, where: _Where, started: float
) -> HttpCallOutput:
    """Send the request and follow its redirects, one checked hop at a time."""
    redirects: list[str] = []
    method: str = params.method
    headers, send_body = _with_traceparent(params.headers, ctx), True
    while True:
        request = pooled.request(
            method,
            url,
            headers,
            json=params.json_body if send_body else None,
            content=params.content if send_body else None,
        )
        where.method, where.url = method, safe_url(str(url))
        response = await pooled.send(request)
        try:
            if not (params.follow_redirects and response.status_code in _REDIRECTS and "location" in response.headers):
                return await _output(response, params, ctx, where, redirects, started)
            if len(redirects) >= params.max_redirects:
                raise SkillError(
                    ErrorCode.POLICY_VIOLATION,
                    f"{method} {where.url} redirected more than max_redirects={params.max_redirects} times; "
                    "raise max_redirects or call the final URL",
                    details={"rule": "max_redirects", "limit": params.max_redirects, "redirects": redirects},
                )
            target = _location(request, response, where)
            new_method = _redirect_method(method, response.status_code)
            where.method, where.url = new_method, safe_url(str(target))
            _check_url(str(target), pooled.guard, "redirect")
            if new_method != method:
                send_body = False
                headers = {k: v for k, v in headers.items() if k.lower() not in _BODY_HEADERS}
            if _origin(target) != _origin(request.url):
                headers = cross_origin_headers(headers, ctx.secrets.contains_secret)
                if send_body and _body_has_secret(params, ctx):
                    raise SkillError(
                        ErrorCode.POLICY_VIOLATION,
                        f"{method} {where.url} would carry a secret in its body to another origin; "
                        "not followed (set follow_redirects to false to get the redirect itself)",
                        details={"rule": "redirect_secrets", "url": where.url},
                    )
            method, url = new_method, target
            redirects.append(where.url)
        finally:
            await response.aclose()


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
        import json

        return ctx.secrets.contains_secret(json.dumps(params.json_body, ensure_ascii=False))
    return False


async def _output(
    response: httpx.Response,
    params: HttpCallInput,
    ctx: SkillContext,
    where: _Where,
    redirects: list[str],
    started: float,
) -> HttpCallOutput:
    status = response.status_code
    headers = redact_headers(response.headers.multi_items())
    if status >= 400:
        excerpt = await _read(response, headers, min(EXCERPT_BYTES, params.max_response_bytes), where, truncate=True)
        error = status_error(
            status, where, excerpt.decode("utf-8", "replace"), headers.get("retry-after"), ctx.clock.now
        )
        if error is not None:
            raise error
    content = (
        b""
        if where.method == "HEAD"
        else await _read(response, headers, params.max_response_bytes, where, truncate=False)
    )
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
