"""The pure pieces of http_call: credential headers, body decoding, Retry-After."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest

from aos_skill_http.body import decode_body
from aos_skill_http.credentials import (
    REDACTED,
    is_credential_header,
    redact_headers,
    safe_url,
    without_credentials,
)
from aos_skill_http.errors import parse_retry_after

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "name",
    [
        "Authorization",
        "proxy-authorization",
        "Cookie",
        "Set-Cookie",
        "x-api-key",
        "X-Goog-Api-Key",
        "api-key",
        "x-auth-token",
        "openai-api-key",
        "x-client-secret",
    ],
)
def test_credential_headers_are_recognised(name: str) -> None:
    assert is_credential_header(name)


@pytest.mark.parametrize("name", ["Accept", "Content-Type", "User-Agent", "WWW-Authenticate", "X-Request-Id"])
def test_ordinary_headers_are_not_credentials(name: str) -> None:
    assert not is_credential_header(name)


def test_without_credentials_keeps_the_rest() -> None:
    headers = {"Authorization": "Bearer t", "X-Api-Key": "k", "Cookie": "c=1", "Host": "a", "Accept": "*/*"}
    assert without_credentials(headers) == {"Accept": "*/*"}


def test_redact_headers_lowercases_joins_and_redacts() -> None:
    pairs = [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Vary", "Accept"), ("vary", "Origin")]
    assert redact_headers(pairs) == {"set-cookie": REDACTED, "vary": "Accept, Origin"}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://user:hunter2@host/p?q=1", f"http://user:{REDACTED}@host/p?q=1"),
        ("http://user@host/", "http://user@host/"),
        ("http://host/", "http://host/"),
    ],
)
def test_safe_url_hides_passwords(url: str, shown: str) -> None:
    assert safe_url(url) == shown


@pytest.mark.parametrize(
    ("content", "content_type", "body", "encoding"),
    [
        (b"", "application/json", None, None),
        (b'{"a": [1, 2]}', "application/json", {"a": [1, 2]}, "json"),
        (b'{"a": 1}', "application/problem+json; charset=utf-8", {"a": 1}, "json"),
        (b'{"a": 1}\n{"a": 2}\n', "application/json", '{"a": 1}\n{"a": 2}\n', "text"),  # NDJSON says JSON
        (b"caf\xe9", "text/plain; charset=latin-1", "café", "text"),
        (b"<a/>", "application/xml", "<a/>", "text"),
        (b"plain", None, "plain", "text"),
        (b"caf\xc3\xa9", "text/plain; charset=no-such-codec", "café", "text"),
    ],
)
def test_decode_body(content: bytes, content_type: str | None, body: object, encoding: str | None) -> None:
    assert decode_body(content, content_type) == (body, encoding)


@pytest.mark.parametrize("content_type", ["image/png", "application/octet-stream", None])
def test_binary_bodies_are_base64(content_type: str | None) -> None:
    raw = b"\x89PNG\r\n\x1a\n\xff\x00"
    body, encoding = decode_body(raw, content_type)
    assert encoding == "base64"
    assert base64.b64decode(body) == raw


@pytest.mark.parametrize(
    ("value", "ms"),
    [
        ("120", 120_000),
        (" 0 ", 0),
        ("Thu, 01 Jan 2026 00:00:30 GMT", 30_000),
        ("Wed, 31 Dec 2025 23:59:00 GMT", 0),  # in the past: no wait
        ("soon", None),
        ("-5", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, ms: int | None) -> None:
    assert parse_retry_after(value, lambda: NOW) == ms


def test_retry_after_in_seconds_does_not_read_the_clock() -> None:
    """The run's clock is read only for a date, so a replay sees the same readings."""

    def clock() -> datetime:
        raise AssertionError("clock read")

    assert parse_retry_after("3", clock) == 3000
