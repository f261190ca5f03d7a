"""The skills' JSON Schema generator writes exactly what pydantic's own generator writes."""

from __future__ import annotations

import datetime
import enum
from decimal import Decimal
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from aos_core.plugins.schema_generator import SkillSchemaGenerator


class Colour(enum.StrEnum):
    RED = "red"
    BLUE = "blue"


class Inner(BaseModel):
    count: int = 2
    tags: list[str] = Field(default_factory=list)


class Plain(BaseModel):
    text: str = ""
    number: int = 3
    flag: bool = True
    nothing: str | None = None


class Varied(BaseModel):
    model_config = ConfigDict(ser_json_timedelta="float", ser_json_inf_nan="strings", title="Custom")

    ratio: float = 0.5
    infinite: float = float("inf")
    price: Decimal = Decimal("1.10")
    when: datetime.datetime = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    wait: datetime.timedelta = datetime.timedelta(seconds=90)
    colour: Colour = Colour.RED
    colour_text: str = Colour.BLUE  # a str subclass as a default: pydantic's own encoder writes it
    mode: Literal["a", "b"] = "a"
    inner: Inner = Inner()
    items: list[Inner] = Field(default_factory=lambda: [Inner(count=1)])
    mapping: dict[str, int] = Field(default={"a": 1})
    bounded: Annotated[int, Field(ge=0, le=10, description="Between 0 and 10.")] = 5
    aliased: str = Field(default="x", alias="otherName")
    required: bytes


class Recursive(BaseModel):
    name: str = "root"
    children: list[Recursive] = Field(default_factory=list)


class Overridden(BaseModel):
    model_config = ConfigDict(json_schema_mode_override="serialization")

    when: datetime.timedelta = datetime.timedelta(0)


@pytest.mark.parametrize("model", [Plain, Inner, Varied, Recursive, Overridden], ids=lambda m: m.__name__)
@pytest.mark.parametrize("mode", ["validation", "serialization"])
def test_the_skill_generator_matches_pydantics(model: type[BaseModel], mode: Any) -> None:
    expected = model.model_json_schema(mode=mode)
    found = model.model_json_schema(mode=mode, schema_generator=SkillSchemaGenerator)
    assert repr(found) == repr(expected)  # repr: the same types (a StrEnum equals its str) and key order


def test_a_generator_subclass_gets_its_own_methods() -> None:
    class Marked(SkillSchemaGenerator):
        def str_schema(self, schema: Any) -> dict[str, Any]:
            return {**super().str_schema(schema), "x-marked": True}

    Plain.model_json_schema(schema_generator=SkillSchemaGenerator)
    assert Plain.model_json_schema(schema_generator=Marked)["properties"]["text"]["x-marked"] is True
    assert "x-marked" not in Plain.model_json_schema(schema_generator=SkillSchemaGenerator)["properties"]["text"]
