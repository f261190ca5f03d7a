"""Contracts: the catalog, money, outcomes and schemas behave as PRODUCT.md pins them."""

from __future__ import annotations

import json
from decimal import Decimal, localcontext

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from aos_core import (
    Cost,
    CostModel,
    ErrorCategory,
    ErrorCode,
    ErrorInfo,
    ResourceContract,
    SideEffect,
    SkillMetadata,
    StructuredOutcome,
    failure_catalog,
    make_error,
)
from aos_core.contracts import schema_models
from aos_core.plugins.schema_check import schema_problems

PINNED = {
    "TRANSIENT": {
        "TIMEOUT": True,
        "DNS_FAILURE": True,
        "CONNECTION_FAILED": True,
        "HTTP_5XX": True,
        "UNAVAILABLE": True,
    },
    "RESOURCE": {"RATE_LIMITED": True, "BUDGET_EXCEEDED": False},
    "PERMISSION": {"PERMISSION_DENIED": False, "POLICY_VIOLATION": False},
    "VALIDATION": {"INVALID_INPUT": False, "SCHEMA_VALIDATION_FAILED": False, "OUTPUT_VALIDATION_FAILED": False},
    "PERMANENT": {
        "HTTP_4XX": False,
        "NOT_FOUND": False,
        "SKILL_NOT_FOUND": False,
        "SKILL_CRASHED": False,
        "TOOL_ERROR": False,
        "NON_DETERMINISTIC": False,
        "CANCELLED": False,
    },
}


def test_catalog_has_exactly_the_error_codes() -> None:
    assert [e.code for e in failure_catalog()] == list(ErrorCode)


@pytest.mark.parametrize(
    ("category", "code", "retryable"),
    [(cat, code, r) for cat, codes in PINNED.items() for code, r in codes.items()],
)
def test_catalog_matches_the_pinned_categories(category: str, code: str, retryable: bool) -> None:
    entry = {e.code: e for e in failure_catalog()}[ErrorCode(code)]
    assert entry.category == ErrorCategory(category)
    assert entry.retryable is retryable
    assert entry.description and entry.recovery


def test_every_catalog_code_is_pinned_here() -> None:
    assert {code for codes in PINNED.values() for code in codes} == {e.code.value for e in failure_catalog()}


def test_no_recovery_text_speaks_of_one_skills_parameters() -> None:
    """Catalog texts are for every skill: OUTPUT_VALIDATION_FAILED once advised http_call's max_response_bytes."""
    for entry in failure_catalog():
        assert "max_response_bytes" not in entry.recovery + entry.description, entry.code


def test_make_error_takes_category_and_recovery_from_the_catalog() -> None:
    error = make_error("HTTP_5XX", "server said 503\n  twice", details={"status": 503})
    assert error.category == ErrorCategory.TRANSIENT and error.retryable
    assert error.message == "server said 503 twice"  # one line
    assert error.recovery.startswith("Retry")
    assert ErrorInfo.model_validate(error.model_dump()) == error


def test_money_is_serialised_as_a_decimal_string_never_a_float() -> None:
    cost = Cost(input_tokens=10, money="0.00315")
    data = json.loads(cost.model_dump_json())
    assert data["money"] == "0.00315"
    assert Cost.model_validate_json(cost.model_dump_json()) == cost


def test_money_read_from_a_float_is_the_float_as_written() -> None:
    assert Cost(money=0.1).money == Decimal("0.1")
    assert ResourceContract(max_money=0.3).max_money == Decimal("0.3")


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", True, [1]])
def test_money_refuses_what_is_not_a_finite_decimal(bad: object) -> None:
    with pytest.raises(ValidationError):
        Cost(money=bad)


@pytest.mark.parametrize("bad", ["-1", "-0.000001", -1, Decimal("-0.50"), -0.1])
def test_money_is_never_negative(bad: object) -> None:
    """A cost, a price and a limit all refuse negative money (a negative cost would lower the spend)."""
    with pytest.raises(ValidationError, match="never negative"):
        Cost(money=bad)
    with pytest.raises(ValidationError, match="never negative"):
        CostModel(money_per_call=bad)
    with pytest.raises(ValidationError, match="never negative"):
        ResourceContract(max_money=bad)


def test_money_is_bounded_in_size_and_places() -> None:
    """Money is at most 10**15 with at most 18 decimal places: what the ledger counts exactly."""
    assert Cost(money="1000000000000000").money == Decimal(10) ** 15
    assert Cost(money="0.000000000000000001").money == Decimal("1E-18")
    for bad in ("1000000000000000.1", 10**15 + 1, "0.0000000000000000001", "1" * 70):
        with pytest.raises(ValidationError):
            Cost(money=bad)


def test_cost_addition_ignores_the_callers_decimal_context() -> None:
    """Adding costs under `decimal.getcontext().prec = 4` still gives the exact sum."""
    with localcontext() as context:
        context.prec = 4
        total = Cost()
        for _ in range(1000):
            total = total + Cost(money="0.00315")
    assert total.money == Decimal("3.15000")


def test_cost_addition_is_exact() -> None:
    total = Cost()
    for _ in range(10):
        total = total + Cost(money="0.1", calls=1)
    assert total.money == Decimal("1.0") and total.calls == 10


def test_outcome_ok_exactly_when_there_is_no_error() -> None:
    with pytest.raises(ValidationError):
        StructuredOutcome(ok=True, error=make_error("TIMEOUT", "x"), skill="s")
    with pytest.raises(ValidationError):
        StructuredOutcome(ok=False, skill="s")


@pytest.mark.parametrize("name", sorted(schema_models()))
def test_every_contract_exports_a_valid_json_schema(name: str) -> None:
    schema = schema_models()[name].model_json_schema()
    assert schema_problems(schema) == []


@pytest.mark.parametrize("name", ["Http", "1skill", "a-b", "x" * 65, ""])
def test_skill_names_are_snake_case(name: str) -> None:
    with pytest.raises(ValidationError):
        SkillMetadata(
            name=name,
            version="1.0.0",
            description="d",
            side_effects=SideEffect.NONE,
            idempotent=True,
            deterministic=True,
        )


def test_side_effects_idempotency_and_determinism_must_be_stated() -> None:
    with pytest.raises(ValidationError) as info:
        SkillMetadata(name="s", version="1.0.0", description="d")
    missing = {e["loc"][0] for e in info.value.errors()}
    assert {"side_effects", "idempotent", "deterministic"} <= missing


def test_schema_check_finds_malformed_schemas() -> None:
    assert schema_problems({"type": "strng"})
    assert schema_problems({"properties": {"a": {"$ref": "#/$defs/Missing"}}})
    assert schema_problems({"type": "string", "pattern": "("})
    assert schema_problems({"anyOf": []})
    assert schema_problems({"type": "object", "properties": {"a": {"type": "integer", "minimum": "1"}}})
    assert schema_problems({"type": "object", "properties": {"a": {}}, "required": ["a"]}) == []


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.1:8080", "10.0.0.0/8", "::1", "[::1]:443", "fd00::/8", "api.local"])
def test_network_allow_entries_that_are_well_formed(entry: str) -> None:
    from aos_core import NetworkPolicy

    assert NetworkPolicy(allow=(entry,)).allow == (entry,)


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ("http://127.0.0.1:80", "not a URL"),
        ("127.0.0.1:0", "port must be a number from 1 to 65535"),
        ("host:http", "port must be a number"),
        ("10.0.0.0/33", "not a CIDR"),
        ("", "empty"),
        ("user@host", "not a host name"),
    ],
)
def test_network_allow_entries_that_are_malformed_say_why(entry: str, why: str) -> None:
    from aos_core import NetworkPolicy

    with pytest.raises(ValidationError, match=why):
        NetworkPolicy(allow=(entry,))


@pytest.mark.parametrize("bad", ["1", 1.0, True])
@pytest.mark.parametrize("field", ["max_calls", "max_input_tokens", "max_output_tokens", "max_concurrency"])
def test_a_contracts_counts_are_integers_as_its_schema_says(field: str, bad: object) -> None:
    """The schema (and so the server's OpenAPI document) says integer: a string, a float or a bool
    is refused, not coerced (schemathesis found `POST /v1/keys` taking `"max_output_tokens": "1"`)."""
    with pytest.raises(ValidationError):
        ResourceContract.model_validate({field: bad})
    with pytest.raises(ValidationError):
        ResourceContract.model_validate_json(json.dumps({field: bad}))
    assert getattr(ResourceContract.model_validate({field: 2}), field) == 2


@given(
    st.lists(
        st.builds(
            Cost,
            input_tokens=st.integers(0, 10**6),
            calls=st.integers(0, 3),
            money=st.sampled_from(["0", "0.001", "1.25", "99999.999999"]),
            currency=st.sampled_from(["USD", "EUR"]),
        ),
        max_size=6,
    )
)
def test_a_cost_tally_sums_as_cost_addition_does(costs: list[Cost]) -> None:
    """The run engine sums its spend in a `CostTally`: the same total (and currency, and refusal
    of two currencies) as adding the costs one by one, which old traces recorded."""
    from aos_core.contracts.cost import CostTally, CurrencyMismatch

    tally = CostTally("USD")
    total: Cost | None = Cost(currency="USD")
    try:
        for cost in costs:
            total = total + cost  # type: ignore[operator]
    except CurrencyMismatch:
        total = None
    try:
        for cost in costs:
            tally.add(cost)
        summed: Cost | None = tally.cost()
    except CurrencyMismatch:
        summed = None
    assert summed == total
