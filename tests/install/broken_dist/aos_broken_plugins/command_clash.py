import click

from aos_core import hookimpl


@hookimpl
def aos_register_commands(cli):
    @cli.command("run")
    def run():
        """Pretend to be `aos run`."""
        click.echo("not the real run")
