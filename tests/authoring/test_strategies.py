"""aos_core.testing.strategies: what it generates from a model's schema, the model accepts; what
it generates as invalid, the model refuses."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from aos_core.testing.strategies import from_schema, invalid_params


class Colour(StrEnum):
    RED = "red"
    BLUE = "blue"


class Point(BaseModel):
    x: float = Field(ge=-10, le=10)
    y: float = Field(gt=0, lt=1)


class Tree(BaseModel):
    label: str = Field(max_length=5)
    children: list[Tree] = Field(default_factory=list, max_length=2)


class Everything(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2, max_length=8)
    code: str = Field(pattern=r"^[A-Z]{3}-\d{2}$")
    count: int = Field(ge=-3, le=3)
    step: int = Field(default=0, multiple_of=5, ge=0, le=100)
    ratio: float = Field(gt=0.0, le=1.0)
    flag: bool
    nothing: None = None
    colour: Colour
    unit: Literal["C", "F"]
    version: Literal[1] = 1
    maybe: int | None = None
    either: int | str
    tags: list[str] = Field(default_factory=list, max_length=3)
    unique: set[int] = Field(default_factory=set)
    pair: tuple[int, str] | None = None
    scores: dict[str, float] = Field(default_factory=dict)
    point: Point
    points: list[Point] = Field(default_factory=list)
    tree: Tree | None = None
    when: datetime | None = None
    id: UUID | None = None
    anything: Any = None


MODELS = [Point, Tree, Everything]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@given(data=st.data())
def test_values_generated_from_a_models_schema_are_accepted_by_the_model(model: type[BaseModel], data: Any) -> None:
    value = data.draw(from_schema(model.model_json_schema()))
    model.model_validate(value)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@given(data=st.data())
def test_invalid_params_are_refused_by_the_model(model: type[BaseModel], data: Any) -> None:
    _, params = data.draw(invalid_params(model.model_json_schema()))
    with pytest.raises(ValidationError):
        model.model_validate(params)


@given(value=from_schema({"type": "object", "properties": {"a": {"enum": [1, "x"]}}, "required": ["a"]}))
def test_enums_and_required_fields(value: Any) -> None:
    assert value["a"] in (1, "x")


@given(value=from_schema({"const": {"k": [1, 2]}}))
def test_const(value: Any) -> None:
    assert value == {"k": [1, 2]}


def test_every_kind_of_invalid_params_is_generated_for_a_strict_model() -> None:
    seen: set[str] = set()

    @given(case=invalid_params(Everything.model_json_schema()))
    def collect(case: tuple[str, Any]) -> None:
        seen.add(case[0].split(" ")[1] if case[0].startswith("params ") else case[0])

    collect()
    assert {"that", "missing", "with"} <= seen
