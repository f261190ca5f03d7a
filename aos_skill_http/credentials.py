"""Headers and URL parts that carry credentials: redacted in outputs, dropped across origins.

httpx strips only `Authorization` on a cross-origin redirect and masks nothing in headers;
API keys travel in many other headers (`x-api-key` for Anthropic, `x-goog-api-key`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "cross_origin_headers",
    "is_credential_header",
    "redact_headers",
    "safe_url",
    "without_credentials",
]

REDACTED = "[REDACTED]"
_USERINFO = re.compile(r"//[^/?#]*@")

_NAMES = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "set-cookie2",
        "x-api-key",
        "api-key",
        "apikey",
        "x-auth-token",
        "x-access-token",
        "x-goog-api-key",
        "x-amz-security-token",
        "ocp-apim-subscription-key",
        "private-token",
        "x-csrf-token",
        "x-xsrf-token",
    }
)
_SUFFIXES = ("-api-key", "-apikey", "-auth-token", "-access-token", "-secret", "-password", "-session-token")


def is_credential_header(name: str) -> bool:
    """True for a header that may carry a credential, by name."""
    name = name.strip().lower()
    return name in _NAMES or name.endswith(_SUFFIXES)


def without_credentials(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers minus those carrying credentials (and `Host`), for a request to another origin."""
    return {k: v for k, v in headers.items() if not is_credential_header(k) and k.lower() != "host"}


def redact_headers(pairs: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Response headers as a dict with lower-case names; repeated ones joined; credentials redacted;
    a value with bytes beyond ASCII read as UTF-8, else Latin-1 (`_header_value`)."""
    merged: dict[str, str] = {}
    for name, value in pairs:
        key, secret = _shown_name(name)
        shown = REDACTED if secret else value if value.isascii() else _header_value(value)
        merged[key] = f"{merged[key]}, {shown}" if key in merged and shown != REDACTED else shown
    return merged


@lru_cache(maxsize=512)
def _shown_name(name: str) -> tuple[str, bool]:
    """A response header's name as the output shows it (lower case), and whether it may carry a
    credential. Remembered: a service sends the same few names on every response; judging each
    name again made `redact_headers` 1.8 µs for the 4 headers of bench/case_http.py's server,
    against 0.7 µs now (issue 21)."""
    key = name.lower()
    return key, is_credential_header(key)


def _header_value(value: str) -> str:
    """A header value with bytes beyond ASCII read as httpx reads them: UTF-8, else Latin-1 (aiohttp
    keeps undecodable bytes as lone surrogates, which JSON cannot carry)."""
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@lru_cache(maxsize=256)
def safe_url(url: str) -> str:
    """The URL with any password in its user-info replaced by `[REDACTED]`; a URL too broken to
    split has its whole user-info replaced (nothing of a password may leak through an error).
    Remembered: a skill shows the same few URLs again and again."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return _USERINFO.sub(f"//{REDACTED}@", url)
    if password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:{REDACTED}@{host}"))


def cross_origin_headers(headers: Mapping[str, str], carries_secret: Callable[[str], bool]) -> dict[str, str]:
    """The headers that may follow a redirect to another origin: no credential header by name,
    no `Host`, and no header whose value holds a secret, whatever its name."""
    return {k: v for k, v in without_credentials(headers).items() if not carries_secret(v)}
