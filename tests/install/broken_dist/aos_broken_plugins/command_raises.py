from aos_core import hookimpl


@hookimpl
def aos_register_commands(cli):
    raise RuntimeError("the server extra is not installed")
