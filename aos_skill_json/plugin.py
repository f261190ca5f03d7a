"""Entry point of aos-skill-json. Importing it must stay cheap: no jmespath here."""

from __future__ import annotations

from aos_core import hookimpl
from aos_core.hookspecs import Register
from aos_skill_json.skill import JsonTransform


@hookimpl
def aos_register_skills(register: Register) -> None:
    register(JsonTransform())
