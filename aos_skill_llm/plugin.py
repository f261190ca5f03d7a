"""Entry point of aos-skill-llm. Importing it must stay cheap: no anthropic, no genai-prices here."""

from __future__ import annotations

from aos_core import hookimpl
from aos_core.hookspecs import Register

from aos_skill_llm.skill import LlmInvoke


@hookimpl
def aos_register_skills(register: Register) -> None:
    register(LlmInvoke())
