import sys

from aos_core import hookimpl


@hookimpl
def aos_register_skills(register):
    sys.exit(4)
