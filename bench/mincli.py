# The yardstick of the cold-start case (case_coldstart.py), kept in the repository so that a fresh
# clone can run the benchmark on its own. Keep it as it is: the recorded figures were taken with it.
"""Minimal click CLI that discovers plugins the way AOS will: importlib.metadata entry points
plus pluggy's PluginManager.load_setuptools_entrypoints. Anchor for `aos skills --json` cold start.

Usage: python mincli.py list [--json] [--pydantic] [--models]
(`--models`, a diagnostic added later, builds two small pydantic models per skill, as each dummy AOS
plugin defines; without it the yardstick is unchanged.)
Group scanned: "aos_anchor". To measure N plugins, install N dummy distributions that declare an
entry point in that group (writing their dist-info folders straight into site-packages is fastest).
"""

import sys

import click
import pluggy

GROUP = "aos_anchor"
hookspec = pluggy.HookspecMarker(GROUP)


class Spec:
    @hookspec
    def aos_skills(self):
        """Return a list of skill names."""


@click.group()
def cli():
    pass


@cli.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--pydantic", "with_pydantic", is_flag=True, help="also import pydantic (contracts)")
@click.option("--models", "with_models", is_flag=True, help="also build an input and an output model per skill")
def list_(as_json, with_pydantic, with_models):
    from importlib.metadata import entry_points

    if with_pydantic or with_models:
        import pydantic
    eps = entry_points(group=GROUP)
    pm = pluggy.PluginManager(GROUP)
    pm.add_hookspecs(Spec)
    pm.load_setuptools_entrypoints(GROUP)
    skills = [s for res in pm.hook.aos_skills() for s in res]
    if with_models:  # a diagnostic (case 7): what each dummy AOS plugin's two small models cost
        for name in skills:
            pydantic.create_model(f"{name}_input", text=(str, ""))
            pydantic.create_model(f"{name}_output", text=(str, ""))
    if as_json:
        import json

        click.echo(json.dumps({"entry_points": len(eps), "skills": skills}))
    else:
        click.echo(f"{len(eps)} entry points, {len(skills)} skills")


if __name__ == "__main__":
    sys.exit(cli())
