from aos_broken_plugins.common import In, Out, meta
from aos_core import hookimpl


class NoExecute:
    metadata = meta("no_execute_skill")
    Input = In
    Output = Out
    run = None


@hookimpl
def aos_register_skills(register):
    register(NoExecute())
