"""Which attributes of a plugin are AOS hooks: pluggy's manager, checking each attribute as its
`register` walks the plugin, so a misnamed, unmarked or over-demanding hook refuses the plugin
with a reason instead of being ignored."""

from __future__ import annotations

import difflib
import inspect
import types
from typing import Any

import pluggy

from aos_core import hookspecs

__all__ = ["KINDS", "PluginFailure", "WalkingManager"]

KINDS = {
    "aos_register_skills": "skills",
    "aos_register_planners": "planners",
    "aos_register_classifiers": "classifiers",
    "aos_register_estimators": "estimators",
    "aos_register_commands": "commands",
    "aos_register_memory": "memory_backends",
    "aos_register_embedders": "embedders",
}
HOOK_PREFIX = "aos_register"
# what pluggy can take as a hook in a module: functions and the wrappers it unwraps
_HOOKABLE = (types.FunctionType, types.MethodType, staticmethod, classmethod)
_SPEC_ARGS = {name: tuple(inspect.signature(getattr(hookspecs, name)).parameters) for name in KINDS}


class PluginFailure(Exception):
    """A plugin is refused; the message says why."""


class WalkingManager(pluggy.PluginManager):
    """pluggy's manager, checking each attribute of a plugin as `register` walks them: one walk,
    where checking before `register` made two (300 plugins: 25 of 52 ms, CPU time). While
    `found` is a dict, an attribute that is not a usable AOS hook refuses the plugin, and each
    hook's parameter names are kept there."""

    found: dict[str, tuple[str, ...]] | None = None

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> pluggy.HookimplOpts | None:
        if (
            type(plugin) is types.ModuleType
            and not name.startswith(HOOK_PREFIX)
            and not isinstance(plugin.__dict__.get(name), _HOOKABLE)
        ):
            # what pluggy would find no hook in, nor `_refuse_unmarked` a hook's name: a module's
            # docstring, loader, classes, the models it imports (9 of a small plugin's 15
            # attributes), without pluggy's look-up (`inspect.getattr_static`, ~2 µs each)
            return None
        opts = super().parse_hookimpl_opts(plugin, name)
        if self.found is not None:
            if opts is None:
                _refuse_unmarked(plugin, name)
            else:
                self.found[name] = _hook_parameters(plugin, name)
        return opts


def _hook_parameters(plugin: Any, attr: str) -> tuple[str, ...]:
    """The parameter names of the hook `attr`; `PluginFailure` when it is no AOS hook or takes
    an argument its spec does not have."""
    if attr not in KINDS:
        close = difflib.get_close_matches(attr, KINDS, n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; the hooks are {', '.join(KINDS)}"
        raise PluginFailure(f"{attr} is not an AOS hook{hint}")
    parameters = inspect.signature(getattr(plugin, attr)).parameters
    extra = [
        name
        for name, p in parameters.items()
        if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) and name not in _SPEC_ARGS[attr]
    ]
    if extra:
        names = ", ".join(repr(p) for p in extra)
        raise PluginFailure(
            f"hook {attr} declares argument(s) {names} that the spec does not have; "
            f"it may take any of the arguments of {attr}({', '.join(_SPEC_ARGS[attr])})"
        )
    return tuple(parameters)


def _refuse_unmarked(plugin: Any, attr: str) -> None:
    """A function named like a hook but not marked would be silently ignored: refuse the plugin."""
    if not attr.startswith(HOOK_PREFIX) or not callable(getattr(plugin, attr, None)):
        return
    if attr in KINDS:
        raise PluginFailure(
            f"{attr} is not marked @hookimpl, so AOS would never call it; decorate it with @aos_core.hookimpl"
        )
    close = difflib.get_close_matches(attr, KINDS, n=1)
    hint = f"did you mean {close[0]}?" if close else f"the hooks are {', '.join(KINDS)}"
    raise PluginFailure(f"{attr} is named like an AOS hook but is not one, nor marked @hookimpl; {hint}")
