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


def _nested(depth: int) -> list[object]:
    """`[[...[]...]]`: `depth` lists inside one."""
    value: list[object] = []
    for _ in range(depth):
        value = [value]
    return value


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


DEEP = b"[" * 202 + b"]" * 202  # pydantic-core reads 201 levels


@pytest.mark.parametrize(
    ("content", "content_type", "body", "encoding"),
    [
        (b'\xef\xbb\xbf{"a": 1}', "application/json", {"a": 1}, "json"),  # a UTF-8 BOM is skipped
        ('{"a": "é"}'.encode("utf-16"), "application/json", {"a": "é"}, "json"),  # as json.loads reads bytes
        ('{"a": "é"}'.encode("utf-32-le"), "application/json", {"a": "é"}, "json"),
        ('"café"'.encode(), "application/json; charset=iso-8859-1", "café", "json"),  # JSON is UTF-8 whatever it says
        (b"[" * 200 + b"]" * 200, "application/json", _nested(199), "json"),
        (DEEP, "application/json", DEEP.decode(), "text"),  # deeper than the output can carry
        (b'{"a": "\\ud800"}', "application/json", '{"a": "\\ud800"}', "text"),  # a lone surrogate: not carried
    ],
)
def test_json_bodies_are_read_as_the_output_can_carry_them(
    content: bytes, content_type: str, body: object, encoding: str
) -> None:
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
