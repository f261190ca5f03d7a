from aos_broken_plugins.common import Echo
from aos_core import hookimpl


class BadName(Echo):
    pass


@hookimpl
def aos_register_skills(register):
    skill = BadName("placeholder")
    skill.metadata = {**skill.metadata.model_dump(), "name": "Fetch-Weather", "timeout_ms": -1}
    register(skill)
