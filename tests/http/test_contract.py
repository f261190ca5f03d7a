"""http_call under aos-core's contract test-kit: generated calls never crash and fail only with declared codes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from hypothesis import strategies as st

import aos_skill_http.plugin
from aos_core import AgentProfile, NetworkPolicy, Policy, RetryPolicy
from aos_core.testing import check_skill_contract

if TYPE_CHECKING:
    from conftest import Server

pytestmark = pytest.mark.network  # a real httpbin on 127.0.0.1

PATHS = [
    "/get",
    "/anything",
    "/json",
    "/html",
    "/image/png",
    "/gzip",
    "/stream/3",
    "/bytes/512",
    "/status/200",
    "/status/204",
    "/status/404",
    "/status/429",
    "/status/500",
    "/redirect/2",
    "/relative-redirect/1",
    "/cookies/set?a=1",
    "/redirect-to?url=http://10.0.0.1/",
    "/redirect-to?url=ftp://example.invalid/",
    "/delay/1",
]

headers = st.dictionaries(
    st.sampled_from(["X-A", "Authorization", "Accept", "Cookie"]), st.text(max_size=8), max_size=2
)
scalars = st.one_of(st.text(max_size=6), st.integers(-5, 5), st.booleans())


def _inputs(server: Server) -> st.SearchStrategy[dict[str, object]]:
    return st.fixed_dictionaries(
        {"url": st.sampled_from(PATHS).map(server)},
        optional={
            "method": st.sampled_from(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS"]),
            "headers": headers,
            "params": st.dictionaries(st.text(min_size=1, max_size=4), scalars, max_size=2),
            "json": st.one_of(st.integers(), st.lists(st.integers(), max_size=3)),
            "timeout_ms": st.integers(50, 400),
            "follow_redirects": st.booleans(),
            "max_redirects": st.integers(0, 3),
            "max_response_bytes": st.integers(1, 4096),
        },
    )


def test_generated_calls_keep_the_contract(httpbin: Server) -> None:
    policy = Policy(
        network=NetworkPolicy(allow=(httpbin.allow,)),
        retry=RetryPolicy(max_attempts=1),
        timeouts_ms={"http_call": 2000},
    )
    report = check_skill_contract(
        aos_skill_http.plugin,
        execute=True,
        inputs=_inputs(httpbin),
        max_examples=40,
        invalid_examples=10,
        profile=AgentProfile(policy=policy),
    )
    seen = report.skills["http_call"].outcomes
    assert seen["ok"] > 0
    assert "SKILL_CRASHED" not in seen
