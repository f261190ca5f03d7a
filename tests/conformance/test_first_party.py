"""The first-party skills under the contract test-kit every plugin author uses.

Everything here runs offline: json_transform is pure; llm_invoke talks to the local fake
Messages API; http_call is driven only with destinations its policy refuses before connecting
(tests/http/test_contract.py drives it against a local httpbin). read_file's own conformance
test lives with the plugin, in plugins/files/tests.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import strategies as st

import aos_skill_http.plugin
import aos_skill_json.plugin
import aos_skill_llm.plugin
from aos_core import AgentProfile, ErrorCode, Policy, RetryPolicy
from aos_core.testing import MessagesAPIServer, check_skill_contract
from aos_core.testing.strategies import json_values
from aos_skill_llm import DEFAULT_MODEL

API_KEY = "sk-test-conformance-0123456789"
NO_RETRIES = AgentProfile(policy=Policy(retry=RetryPolicy(max_attempts=1)))


@pytest.mark.parametrize(
    "plugin",
    [aos_skill_json.plugin, aos_skill_http.plugin, aos_skill_llm.plugin, "aos_plugin_files.plugin"],
    ids=["json_transform", "http_call", "llm_invoke", "read_file"],
)
def test_metadata_and_schemas_keep_the_contract(plugin: object) -> None:
    """Loads as the core loads it; metadata and schemas round-trip; Input refuses what its schema refuses."""
    report = check_skill_contract(plugin, execute=False, max_examples=30, invalid_examples=30)
    for checked in report.skills.values():
        assert checked.valid_examples >= 30 and checked.invalid_examples >= 30


EXPRESSIONS = [
    "a",
    "a.b",
    "[*]",
    "[0]",
    "[-1]",
    "*",
    "@",
    "length(@)",
    "keys(@)",
    "sort(@)",
    "max(@)",
    "sum(@)",
    "a || b",
    "[?a > `1`]",
    "to_number(@)",
    "abs(@)",
    "{x: a, y: b}",
    "[].a",
    "join(',', @)",
    "type(@)",
]


def test_json_transform_keeps_its_contract_when_executed() -> None:
    """Real expressions (and random text) over random JSON: ok or a declared code, never a crash."""
    inputs = st.fixed_dictionaries(
        {"expression": st.one_of(st.sampled_from(EXPRESSIONS), st.text(min_size=1, max_size=12)), "data": json_values()}
    )
    report = check_skill_contract(aos_skill_json.plugin, inputs=inputs, max_examples=80, invalid_examples=20)
    seen = report.skills["json_transform"].outcomes
    assert seen["ok"] > 0 and seen[ErrorCode.INVALID_INPUT.value] > 0


def test_json_transform_keeps_its_contract_on_inputs_generated_from_its_schema() -> None:
    check_skill_contract(aos_skill_json.plugin, max_examples=50)


def test_http_call_refuses_private_and_metadata_addresses_with_a_declared_code() -> None:
    """Executed offline: every destination is refused by policy before any connection."""
    examples = [
        {"url": "http://127.0.0.1:9/"},
        {"url": "http://169.254.169.254/latest/meta-data/"},
        {"url": "http://[::ffff:10.0.0.1]/"},
        {"url": "http://localhost/", "method": "POST", "json": {"a": 1}},
    ]
    report = check_skill_contract(
        aos_skill_http.plugin, execute=True, examples=examples, max_examples=0, invalid_examples=20, profile=NO_RETRIES
    )
    assert report.skills["http_call"].outcomes[ErrorCode.POLICY_VIOLATION.value] == len(examples)


@pytest.fixture
def messages_api() -> Iterator[MessagesAPIServer]:
    with MessagesAPIServer(api_key=API_KEY) as server:
        yield server


def llm_inputs() -> st.SearchStrategy[dict[str, object]]:
    models = st.sampled_from([DEFAULT_MODEL, "claude-3-5-haiku-latest"])  # priced models
    text = st.text(max_size=40)
    options = {
        "system": text,
        "max_tokens": st.integers(1, 2000),
        "temperature": st.floats(0, 1),
        "stop_sequences": st.lists(st.text(min_size=1, max_size=5), max_size=3),
        "output_schema": st.sampled_from([{"type": "object"}, {"type": "array", "items": {"type": "integer"}}]),
    }
    message = st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant"]), "content": text})
    return st.one_of(
        st.fixed_dictionaries({"model": models, "prompt": text}, optional=options),
        st.fixed_dictionaries({"model": models, "messages": st.lists(message, min_size=1, max_size=3)}),
    )


def test_llm_invoke_keeps_its_contract_against_the_local_messages_api(messages_api: MessagesAPIServer) -> None:
    settings = {"base_url": messages_api.url, "api_key": API_KEY}
    report = check_skill_contract(
        aos_skill_llm.plugin,
        execute=True,
        inputs=llm_inputs(),
        max_examples=25,
        invalid_examples=10,
        profile=NO_RETRIES,
        config={"skills": {"llm_invoke": settings}},
    )
    assert report.skills["llm_invoke"].outcomes["ok"] > 0


def test_llm_invoke_keeps_its_contract_on_inputs_generated_from_its_schema(messages_api: MessagesAPIServer) -> None:
    settings = {"base_url": messages_api.url, "api_key": API_KEY}
    check_skill_contract(
        aos_skill_llm.plugin,
        execute=True,
        max_examples=25,
        invalid_examples=0,
        profile=NO_RETRIES,
        config={"skills": {"llm_invoke": settings}},
    )
