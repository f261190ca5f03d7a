from typing import Any

from pydantic import BaseModel

from aos_core import SideEffect, SkillMetadata


class In(BaseModel):
    text: str = ""


class Out(BaseModel):
    text: str


def meta(name: str) -> SkillMetadata:
    return SkillMetadata(
        name=name,
        version="0.0.1",
        description="test",
        side_effects=SideEffect.NONE,
        idempotent=True,
        deterministic=True,
    )


class Echo:
    def __init__(self, name: str) -> None:
        self.metadata = meta(name)

    Input = In
    Output = Out

    def execute(self, params: In, ctx: Any) -> Out:
        return Out(text=params.text)
