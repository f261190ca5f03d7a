from aos_broken_plugins.common import Echo
from aos_core import hookimpl

print("chatty plugin: hello from import time")


@hookimpl
def aos_register_skills(register):
    print("chatty plugin: registering")
    register(Echo("chatty_skill"))
