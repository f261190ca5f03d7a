"""What plugin discovery sees of aos-skill-http: cheap imports, complete metadata, a pinned surface."""

from __future__ import annotations

import subprocess
import sys

import aos_skill_http
import aos_skill_http.plugin
from aos_core import ErrorCategory, ErrorCode, Runtime, failure_catalog
from aos_skill_http import HttpCall

PINNED_PARAMETERS = {
    "method",
    "url",
    "headers",
    "params",
    "json",
    "content",
    "timeout_ms",
    "follow_redirects",
    "max_redirects",
    "max_response_bytes",
}


def test_importing_the_plugin_imports_no_http_library() -> None:
    code = (
        "import sys, aos_skill_http.plugin; "
        "print(sorted(m for m in ('httpx', 'httpx2', 'httpcore', 'httpcore2', 'anyio', 'aiohttp', 'yarl', 'multidict')"
        " if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_public_names_are_pinned() -> None:
    assert aos_skill_http.__all__ == ["HttpCall", "HttpCallInput", "HttpCallOutput", "__version__"]


def test_metadata_is_complete() -> None:
    with Runtime(entry_points=False, plugins=[aos_skill_http.plugin]) as rt:
        meta = rt.describe_skill("http_call")
    assert meta.network
    assert not meta.deterministic
    assert not meta.idempotent
    assert meta.input_schema is not None and meta.output_schema is not None
    assert set(meta.input_schema["properties"]) == PINNED_PARAMETERS
    assert meta.input_schema["properties"]["max_redirects"]["default"] == 10
    assert set(meta.output_schema["properties"]) >= {
        "status",
        "headers",
        "body",
        "final_url",
        "elapsed_ms",
        "redirects",
    }


def test_declared_codes_are_catalog_codes_the_skill_can_cause() -> None:
    declared = set(HttpCall.metadata.failure_codes)
    assert declared == {
        ErrorCode.INVALID_INPUT,
        ErrorCode.POLICY_VIOLATION,
        ErrorCode.DNS_FAILURE,
        ErrorCode.CONNECTION_FAILED,
        ErrorCode.TIMEOUT,
        ErrorCode.HTTP_4XX,
        ErrorCode.HTTP_5XX,
        ErrorCode.RATE_LIMITED,
        ErrorCode.OUTPUT_VALIDATION_FAILED,
    }
    retryable = {e.code for e in failure_catalog() if e.retryable}
    assert {c for c in declared if c in retryable} == {
        ErrorCode.DNS_FAILURE,
        ErrorCode.CONNECTION_FAILED,
        ErrorCode.TIMEOUT,
        ErrorCode.HTTP_5XX,
        ErrorCode.RATE_LIMITED,
    }
    assert {e.category for e in failure_catalog() if e.code == ErrorCode.HTTP_4XX} == {ErrorCategory.PERMANENT}
