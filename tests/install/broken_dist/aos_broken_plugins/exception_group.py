from aos_core import hookimpl


@hookimpl
def aos_register_skills(register):
    raise BaseExceptionGroup("two things went wrong", [SystemExit(2), ValueError("bad value")])
