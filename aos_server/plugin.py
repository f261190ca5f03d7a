"""Entry point of aos-server: adds `aos serve`, `aos worker` and `aos keys` to the `aos` command line.

Importing it stays cheap (click only): the commands import the web framework when they run.
"""

from __future__ import annotations

import click

from aos_core import hookimpl

__all__ = ["aos_register_commands"]


@hookimpl
def aos_register_commands(cli: click.Group) -> None:
    from aos_server.commands import keys, serve, worker

    cli.add_command(serve)
    cli.add_command(worker)
    cli.add_command(keys)
