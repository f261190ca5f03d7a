"""aos-skill-llm: the `llm_invoke` skill, the `claude` planner and the Anthropic cost estimator."""

from aos_skill_llm.models import DEFAULT_MODEL, LlmInvokeInput, LlmInvokeOutput, Message, Usage
from aos_skill_llm.skill import LlmInvoke

__version__ = "0.1.0"
__all__ = ["DEFAULT_MODEL", "LlmInvoke", "LlmInvokeInput", "LlmInvokeOutput", "Message", "Usage", "__version__"]
