"""json_transform: JMESPath over JSON through the real runtime."""

from __future__ import annotations

import pytest

from aos_core import ErrorCode, Runtime, SideEffect
from aos_skill_json import JsonTransform

DECLARED = set(JsonTransform.metadata.failure_codes)
DATA = {
    "people": [
        {"name": "Ada", "age": 36, "langs": ["en", "fr"]},
        {"name": "Alan", "age": 41, "langs": ["en"]},
        {"name": "Grace", "age": 85, "langs": []},
    ],
    "meta": {"count": 3, "source": "test"},
}


def test_metadata_is_complete(runtime: Runtime) -> None:
    """Pure, deterministic, idempotent, no network, with schemas and the codes it can return."""
    meta = runtime.describe_skill("json_transform")
    assert meta.side_effects is SideEffect.NONE and not meta.network
    assert meta.idempotent and meta.deterministic and not meta.blocking
    assert meta.timeout_ms == 5_000
    assert meta.input_schema and set(meta.input_schema["required"]) == {"expression", "data"}
    assert meta.output_schema and "result" in meta.output_schema["properties"]
    assert set(meta.failure_codes) == {ErrorCode.INVALID_INPUT, ErrorCode.OUTPUT_VALIDATION_FAILED}


@pytest.mark.parametrize(
    ("expression", "result"),
    [
        ("meta.count", 3),
        ("people[*].name", ["Ada", "Alan", "Grace"]),
        ("people[?age > `40`].name", ["Alan", "Grace"]),
        ("people[0].langs[-1]", "fr"),
        ("length(people)", 3),
        ("sort_by(people, &age)[-1].name", "Grace"),
        ("people[].{n: name, l: length(langs)}", [{"n": "Ada", "l": 2}, {"n": "Alan", "l": 1}, {"n": "Grace", "l": 0}]),
        ("max_by(people, &age).age", 85),
        ("people[].langs[]", ["en", "fr", "en"]),
        ("meta | keys(@)", ["count", "source"]),
        ('`{"literal": [1, 2.5, null]}`', {"literal": [1, 2.5, None]}),
        ("join(', ', people[*].name)", "Ada, Alan, Grace"),
    ],
)
def test_good_expressions(runtime: Runtime, expression: str, result: object) -> None:
    """Selections, filters, projections, functions and literals give the JMESPath result."""
    outcome = runtime.execute("json_transform", {"expression": expression, "data": DATA})
    assert outcome.ok, outcome.error
    assert outcome.output == {"result": result}
    assert outcome.cost.money == 0


@pytest.mark.parametrize("expression", ["missing", "people[10]", "meta.count.deeper", "people[?age > `100`] | [0]"])
def test_nothing_matched_is_null(runtime: Runtime, expression: str) -> None:
    """An expression that matches nothing gives null, not an error."""
    outcome = runtime.execute("json_transform", {"expression": expression, "data": DATA})
    assert outcome.ok and outcome.output == {"result": None}


@pytest.mark.parametrize("data", [None, 1, "text", [1, [2]], True, {"": {"": None}}])
def test_any_json_value_is_accepted(runtime: Runtime, data: object) -> None:
    """`data` is any JSON value, including scalars and null."""
    outcome = runtime.execute("json_transform", {"expression": "@", "data": data})
    assert outcome.ok and outcome.output == {"result": data}


@pytest.mark.parametrize(
    ("expression", "position"),
    [
        ("people[", 7),
        ("a.b.", 4),
        ("foo | | bar", 6),
        ("people[?age ==]", 14),
        ("`{unclosed", 0),
        ("&&", 0),
    ],
)
def test_bad_expression_is_invalid_input_with_position(runtime: Runtime, expression: str, position: int) -> None:
    """A syntax error is INVALID_INPUT whose message and details give the column of the error."""
    outcome = runtime.execute("json_transform", {"expression": expression, "data": DATA})
    assert outcome.error is not None and outcome.error.code is ErrorCode.INVALID_INPUT
    assert outcome.error.details["position"] == position
    assert f"column {position}" in outcome.error.message
    assert outcome.error.details["expression"] == expression and not outcome.error.retryable
    assert outcome.error.details["parameter"] == "expression"  # what INVALID_INPUT's recovery text points at


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("length(@, @)", "Expected 1 argument"),
        ("abs(meta.source)", "invalid type"),
        ("no_such_function(@)", "Unknown function"),
        ("sort(people)", "invalid type"),
    ],
)
def test_expression_that_cannot_apply_is_invalid_input(runtime: Runtime, expression: str, fragment: str) -> None:
    """Wrong arity, wrong types and unknown functions surface when applied: INVALID_INPUT too."""
    outcome = runtime.execute("json_transform", {"expression": expression, "data": DATA})
    assert outcome.error is not None and outcome.error.code is ErrorCode.INVALID_INPUT
    assert fragment in outcome.error.message
    assert outcome.error.details["parameter"] == "expression"


def test_overflowing_number_is_output_validation_failed(runtime: Runtime) -> None:
    """sum() of huge floats overflows to inf, which JSON cannot hold: OUTPUT_VALIDATION_FAILED, naming where."""
    outcome = runtime.execute("json_transform", {"expression": "{total: sum(@)}", "data": [1e308, 1e308]})
    assert outcome.error is not None and outcome.error.code is ErrorCode.OUTPUT_VALIDATION_FAILED
    assert outcome.error.details["path"] == "result.total"


def test_non_finite_input_is_refused(runtime: Runtime) -> None:
    """NaN or infinity in `data` is not JSON: the input model refuses it."""
    outcome = runtime.execute("json_transform", {"expression": "@", "data": {"x": float("nan")}})
    assert outcome.error is not None and outcome.error.code is ErrorCode.SCHEMA_VALIDATION_FAILED


def test_missing_expression_is_schema_validation_failed(runtime: Runtime) -> None:
    """An empty or missing expression fails the input model before anything runs."""
    for params in ({"data": 1}, {"expression": "", "data": 1}):
        outcome = runtime.execute("json_transform", params)
        assert outcome.error is not None and outcome.error.code is ErrorCode.SCHEMA_VALIDATION_FAILED


def test_same_input_same_output(runtime: Runtime) -> None:
    """Deterministic: repeated calls give identical outcomes' outputs."""
    params = {"expression": "people[*].{n: name, a: age} | sort_by(@, &a) | reverse(@)", "data": DATA}
    outputs = {repr(runtime.execute("json_transform", params).output) for _ in range(5)}
    assert len(outputs) == 1


def test_input_data_is_not_modified(runtime: Runtime) -> None:
    """No side effects: the caller's data is unchanged."""
    data = {"a": [3, 1, 2]}
    runtime.execute("json_transform", {"expression": "sort(a)", "data": data})
    assert data == {"a": [3, 1, 2]}
