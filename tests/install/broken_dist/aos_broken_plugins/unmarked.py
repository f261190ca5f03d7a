from aos_broken_plugins.common import Echo
from aos_core import hookimpl


@hookimpl
def aos_register_skills(register):
    register(Echo("unmarked_skill"))


def aos_register_estimators(register):  # @hookimpl forgotten: AOS would never call it
    register(object())
