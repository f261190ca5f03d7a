"""Entry point of aos-skill-http. Importing it must stay cheap: no aiohttp here."""

from __future__ import annotations

from aos_core import hookimpl
from aos_core.hookspecs import Register
from aos_skill_http.skill import HttpCall


@hookimpl
def aos_register_skills(register: Register) -> None:
    register(HttpCall())
