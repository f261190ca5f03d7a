"""Property: json_transform never raises and always answers with JSON or a declared code."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from aos_core import ErrorCode, Runtime
from aos_skill_json import JsonTransform

ALLOWED = set(JsonTransform.metadata.failure_codes) | {ErrorCode.SCHEMA_VALIDATION_FAILED}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
names = st.sampled_from(["a", "b", "foo", "bar", "0", "people"])
pieces = st.sampled_from(
    [
        "@",
        "[]",
        "[*]",
        "[0]",
        "[-1]",
        "[1:3]",
        "[?@ > `1`]",
        ".a",
        ".b",
        " | ",
        "length(@)",
        "keys(@)",
        "values(@)",
        "sort(@)",
        "sum(@)",
        "max(@)",
        "to_string(@)",
        "to_number(@)",
        "type(@)",
        "{x: a}",
        "[a, b]",
        "&a",
        "||",
        "&&",
        "!",
        "(",
        ")",
        "`1`",
        "'s'",
        '"q"',
        "*",
        ".",
        ",",
        " ",
        "sort_by(@, &a)",
        "reverse(@)",
    ]
)
expressions = st.one_of(
    st.lists(st.one_of(names, pieces), min_size=1, max_size=6).map("".join),
    st.text(min_size=1, max_size=20),
)


@given(expression=expressions, data=json_values)
def test_never_raises_and_always_returns_json(runtime: Runtime, expression: str, data: Any) -> None:
    """Any expression on any JSON: an ok outcome with strict JSON output, or a failure with a declared code."""
    outcome = runtime.execute("json_transform", {"expression": expression, "data": data})
    if outcome.ok:
        json.dumps(outcome.output, allow_nan=False)
        assert set(outcome.output) == {"result"}
    else:
        assert outcome.error is not None and outcome.error.code in ALLOWED, outcome.error


def test_a_comparison_of_mixed_types_is_invalid_input_not_a_crash(runtime: Runtime) -> None:
    """jmespath raises TypeError comparing a string with a number; found by the property above."""
    outcome = runtime.execute("json_transform", {"expression": "[?@ > `1`]", "data": [""]})
    assert outcome.error is not None and outcome.error.code == ErrorCode.INVALID_INPUT, outcome.error
    assert "cannot be applied to this data" in outcome.error.message
