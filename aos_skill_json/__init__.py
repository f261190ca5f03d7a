"""aos-skill-json: the `json_transform` skill."""

from aos_skill_json.models import JsonTransformInput, JsonTransformOutput
from aos_skill_json.skill import JsonTransform

__version__ = "0.1.0"
__all__ = ["JsonTransform", "JsonTransformInput", "JsonTransformOutput", "__version__"]
