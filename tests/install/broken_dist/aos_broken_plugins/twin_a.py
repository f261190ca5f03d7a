from aos_broken_plugins.common import Echo
from aos_core import hookimpl


@hookimpl
def aos_register_skills(register):
    register(Echo("twin_skill"))
    register(Echo("twin_a_only"))
