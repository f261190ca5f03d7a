"""The AOS hook specifications: the whole plugin API, one hook per kind of plugin.

A plugin is a module (or object) named by an entry point in the group ``aos``::

    [project.entry-points.aos]
    weather = "aos_skill_weather.plugin"

and implements one or more of the hooks below, each marked with ``aos_core.hookimpl``. The four
registration hooks receive ``register``, a callable ``register(obj, priority=0)``; a plugin calls
it once per thing it contributes. ``aos_register_commands`` receives ``cli``, a click group. The
core then validates each contribution on its own: a plugin whose module fails to import, whose
hook has an argument not named here, whose hook raises (or calls ``sys.exit``), or whose
contribution is invalid is reported (``aos plugins``) with the reason, and every other plugin
keeps working. A function named like a hook but not marked ``@hookimpl`` is refused too.

Every hook may also take ``config``: the plugin's own table of the runtime configuration,
``[plugins.NAME]`` in ``config.toml`` (NAME is the entry point's name), as a read-only mapping;
an empty one when the table is absent. Declare only the arguments you use (pluggy passes a
hook the subset of the spec's arguments it names)::

    @hookimpl
    def aos_register_skills(register, config):
        register(McpTools(servers=config.get("servers", [])))

Hooks are collected once, when a ``Runtime`` loads its plugins (``aos_register_commands``: when
the CLI discovers plugins); none is called per execution. Keep module import cheap: import heavy
libraries inside the function that needs them. Anything a plugin prints while loading goes to
stderr, never to stdout. A plugin whose hooks read state of its own (aos-skill-mcp registers a
skill per tool of a cached tool list) keeps it under ``$AOS_HOME/plugins/NAME/``: the CLI's
discovery cache is keyed on the files there, so a change shows in ``aos skills`` at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Protocol

import pluggy

if TYPE_CHECKING:
    import click

__all__ = ["PROJECT_NAME", "Register", "hookimpl", "hookspec"]

PROJECT_NAME = "aos"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


class Register(Protocol):
    """The ``register`` callable every registration hook receives."""

    def __call__(self, obj: Any, priority: int = 0) -> None: ...


@hookspec
def aos_register_skills(register: Register, config: Mapping[str, Any]) -> None:
    """Contribute skills.

    Call ``register(skill)`` for each skill. A skill object has:

    - ``metadata``: a ``SkillMetadata`` (name, version, description, side_effects, idempotent,
      deterministic, and optionally network, blocking, timeout_ms, cost, failure_codes,
      permissions). Leave ``input_schema``/``output_schema`` out: the core generates them.
    - ``Input`` and ``Output``: pydantic models for the parameters and the result.
    - ``execute(params, ctx)``: sync or async; ``params`` is an ``Input`` instance, ``ctx`` a
      ``SkillContext``; returns an ``Output`` (or a dict that validates as one). To fail with a
      specific code, raise ``SkillError(code, message)``; any other exception goes to the
      failure classifiers and otherwise becomes ``SKILL_CRASHED``.
    - optionally ``preflight(params, ctx)``: what would make a call fail at once that only the
      skill can tell, found without sending anything (``aos simulate`` and the check ``aos run``
      makes before its first step). ``params`` are the step's parameters as the plan writes them
      (``${steps...}`` and ``${secrets...}`` references unresolved: skip what you cannot judge);
      ``ctx`` is a ``PreflightContext`` (``policy``, the skill's ``config``, ``has_secret(name)``).
      Return a list of ``PlanProblem(code=..., message=...)`` (empty when all is well), or raise
      ``SkillError`` for one; the core fills in the step. Never do I/O here. A preflight that
      crashes is reported as a warning, never as a problem. The core itself already checks
      the policy's allowed and denied skills and that every ``${secrets.NAME}`` is set.
    - optionally ``warm_up()``: called once per executor before the skill's first call is timed;
      import heavy libraries here so their import time is not counted in a call's duration.

    Refused at load time, with the reason: invalid metadata, missing or non-pydantic
    ``Input``/``Output``, an ``execute`` that is not callable as ``execute(params, ctx)``, a
    schema that is not valid JSON Schema, and a name another plugin also registers (both are
    refused, so nothing silently shadows another skill). ``priority`` is ignored for skills.

    Return value: ignored.
    """


@hookspec
def aos_register_planners(register: Register, config: Mapping[str, Any]) -> None:
    """Contribute planners.

    Call ``register(planner, priority=0)``. A planner has ``name``, ``description`` and
    ``plan(request, ctx)`` (sync or async) returning a ``Plan`` for ``request.goal`` using only
    ``request.skills`` and fitting ``request.contract``. The core validates the plan against the
    skills' schemas before anyone runs it. Two planners with the same name: the higher
    ``priority`` wins (on a tie, the first loaded).

    Return value: ignored.
    """


@hookspec
def aos_register_classifiers(register: Register, config: Mapping[str, Any]) -> None:
    """Contribute failure classifiers.

    Call ``register(classifier, priority=0)``. A classifier has ``name`` and
    ``classify(exc, skill)`` returning a ``Classification(code, message)`` or None to pass.
    When a skill raises, classifiers are asked from the highest ``priority`` down and the first
    answer wins; the built-in classifier answers last. A classifier picks a catalog code; the
    category always comes from the catalog, so it cannot invent one.

    Return value: ignored.
    """


@hookspec
def aos_register_estimators(register: Register, config: Mapping[str, Any]) -> None:
    """Contribute cost estimators.

    Call ``register(estimator, priority=0)``. An estimator has ``name``, ``covers(skill)``,
    ``estimate(skill, params, ctx)`` returning a ``CostEstimate`` (low, expected, worst) and
    ``actual(skill, params, output, ctx)`` returning the ``Cost`` of a finished call. For each
    skill the core picks, once at load, the highest-priority estimator that covers it, else
    the cost model in the skill's metadata. ``ctx`` is an ``EstimateContext``: ``ctx.at`` is the
    run clock's time (price at it, so a replay prices the same), ``ctx.config`` the skill's
    configuration (where price overrides live). The worst case is reserved against the budget
    before the call; the actual cost is settled after it.

    Return value: ignored.
    """


@hookspec
def aos_register_commands(cli: click.Group, config: Mapping[str, Any]) -> None:
    """Contribute commands to the ``aos`` command line.

    ``cli`` is a ``click.Group``: add commands with ``@cli.command()``, ``@cli.group()`` or
    ``cli.add_command(command)``; the core adds them to ``aos`` (``aos serve``, ``aos mcp
    serve``)::

        @hookimpl
        def aos_register_commands(cli):
            @cli.command(help="Serve the runtime over HTTP.")
            @click.option("--port", default=8000)
            def serve(port):
                from aos_server.app import run  # heavy imports inside the command

                run(port)

    The hook is called when the CLI discovers plugins, with every other hook; discovery records
    each command's name and first help line in its cache, so ``aos --help`` lists them without
    importing the plugin, and ``aos serve`` loads only the plugin that provides it. Keep the
    hook cheap: define commands, import nothing heavy.

    Refused at load time, with the reason: something added that is not a ``click.Command``, a
    name that is not lowercase letters, digits, ``-`` or ``_``, a name the core uses (``run``,
    ``skills``...), and a name another plugin also adds (both plugins are refused). A refused
    plugin's commands do not exist; the core commands always work. A command that raises ends
    with one line naming it and its plugin (exit 1); raise ``click.ClickException`` for a failure
    you can name (an ``AOSError``, such as a ``StoreError``, keeps its own code and exit status).

    Return value: ignored.
    """


@hookspec
def aos_register_memory(register: Register, config: Mapping[str, Any]) -> None:
    """Contribute memory backends, chosen by the scheme of the memory URL (``AOS_MEMORY``, ``--memory``).

    Call ``register(provider, priority=0)``. A provider has ``name``, ``schemes`` (a tuple of
    URL schemes it opens, such as ``("redis",)``) and ``open(url, options)`` returning a backend
    with the methods of ``aos_core.memory.MemoryBackend`` (``put``, ``get``, ``delete``,
    ``search``, ``list_namespaces``, ``close``). Import its driver inside ``open``. aos-core
    registers ``sqlite`` and ``postgresql``/``postgres``; for a scheme registered twice the
    higher ``priority`` wins (on a tie, the first loaded).

    Refused at load time: no valid ``name``, no schemes or a malformed one, an ``open`` not
    callable as ``open(url, options)``.

    Return value: ignored.
    """


@hookspec
def aos_register_embedders(register: Register, config: Mapping[str, Any]) -> None:
    """Contribute embedders: text to vectors, for semantic search in memory.

    Call ``register(embedder, priority=0)``. An embedder has ``name``, ``dimensions`` (an int)
    and ``embed(texts)`` returning one sequence of ``dimensions`` floats per text; the same text
    must always give the same vector. It may have ``cost`` (an ``aos_core.memory.EmbedderCost``:
    money per call, per million tokens, tokens per call), which a budget can price. aos-core
    registers ``hashing`` (deterministic, no model) and ``all-minilm-l6-v2`` (the
    ``aos-core[embeddings]`` extra). Two embedders with one name: the higher ``priority`` wins.

    Refused at load time: no valid ``name``, ``dimensions`` not a positive int, an ``embed`` not
    callable as ``embed(texts)``, a ``cost`` without ``money_per_call`` and ``currency``.

    Return value: ignored.
    """
