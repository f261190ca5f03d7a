"""aos-skill-http: the `http_call` skill."""

from aos_skill_http.models import HttpCallInput, HttpCallOutput
from aos_skill_http.skill import HttpCall

__version__ = "0.1.0"
__all__ = ["HttpCall", "HttpCallInput", "HttpCallOutput", "__version__"]
