from aos_broken_plugins.common import Echo
from aos_core import hookimpl


@hookimpl
def aos_register_skills(register, options):
    register(Echo("wrong_arg_skill"))
