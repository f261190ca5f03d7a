import click

from aos_core import hookimpl


@hookimpl
def aos_register_commands(cli, config):
    greeting = config.get("greeting", "Hello")

    @cli.command("broken-hello")
    @click.argument("name")
    def hello(name):
        """Greet NAME from a plugin command."""
        click.echo(f"{greeting}, {name}!")

    @cli.command("broken-crash")
    def crash():
        """A plugin command with a bug."""
        raise RuntimeError("the plugin's own bug")
