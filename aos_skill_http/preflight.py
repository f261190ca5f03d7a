"""`http_call`'s preflight: a URL the network policy refuses whatever DNS says, found before
anything is sent (`aos simulate`, and `aos run` before its first step).

Only what is known without DNS is judged: an IP literal in any spelling a C resolver accepts,
and localhost names. A URL built from an earlier step's output (`${steps...}`) is judged when
the call is made. No HTTP library is imported here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from aos_core import ErrorCode, PlanProblem, PreflightContext
from aos_skill_http.addresses import AllowList, fixed_addresses, judge

__all__ = ["preflight"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def preflight(params: Any, ctx: PreflightContext) -> list[PlanProblem]:
    """The problem of a literal `url` the policy refuses, or of one that is not a usable URL."""
    url = params.get("url") if isinstance(params, dict) else None
    if not isinstance(url, str) or "${" in url:
        return []
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return [_problem(ErrorCode.INVALID_INPUT, "url is not a valid URL (its host or port cannot be read)")]
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return [_problem(ErrorCode.INVALID_INPUT, "url needs an http or https scheme and a host")]
    host, port = parts.hostname, port or _DEFAULT_PORTS[scheme]
    try:
        allow = AllowList(ctx.policy.network.allow)
    except ValueError as exc:
        return [_problem(ErrorCode.INVALID_INPUT, f"the network settings are invalid: {exc}")]
    for address in fixed_addresses(host) or ():
        refusal = judge(host, address, port, allow)
        if refusal is not None:
            return [_problem(ErrorCode.POLICY_VIOLATION, refusal.message)]
    return []


def _problem(code: ErrorCode, message: str) -> PlanProblem:
    return PlanProblem(code=code, message=message, field="url")
