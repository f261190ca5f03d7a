"""aos-skill-llm: the `llm_invoke` skill, the `claude` planner and the Anthropic cost estimator."""

from aos_skill_llm.estimator import AnthropicEstimator
from aos_skill_llm.models import DEFAULT_MODEL, LlmInvokeInput, LlmInvokeOutput, Message, Usage
from aos_skill_llm.planner import ClaudePlanner
from aos_skill_llm.pricing import UnknownModelPrice
from aos_skill_llm.skill import LlmInvoke

__version__ = "0.1.0"
__all__ = [
    "AnthropicEstimator",
    "ClaudePlanner",
    "DEFAULT_MODEL",
    "LlmInvoke",
    "LlmInvokeInput",
    "LlmInvokeOutput",
    "Message",
    "UnknownModelPrice",
    "Usage",
    "__version__",
]
