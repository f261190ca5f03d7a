"""Entry point of aos-skill-llm. Importing it must stay cheap: no anthropic, no genai-prices here."""

from __future__ import annotations

from aos_core import hookimpl
from aos_core.hookspecs import Register
from aos_skill_llm.estimator import AnthropicEstimator
from aos_skill_llm.planner import ClaudePlanner
from aos_skill_llm.skill import LlmInvoke


@hookimpl
def aos_register_skills(register: Register) -> None:
    register(LlmInvoke())


@hookimpl
def aos_register_planners(register: Register) -> None:
    register(ClaudePlanner())


@hookimpl
def aos_register_estimators(register: Register) -> None:
    register(AnthropicEstimator())
