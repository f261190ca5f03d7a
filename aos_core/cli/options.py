"""Options shared by the commands that build a `Runtime`: profile, contract, policy, config."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from aos_core.cli.home import aos_home
from aos_core.cli.io import read_json_arg

__all__ = ["aos_home", "build_runtime", "json_option", "runtime_options"]


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Machine output: JSON on stdout only.")(func)


def _store(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--store",
        default=None,
        metavar="PATH|URL",
        help="Run store: an SQLite file or directory, sqlite:///PATH, postgresql://... "
        "(default: $AOS_STORE, else $AOS_HOME/runs.sqlite3).",
    )(func)


def _config(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Runtime configuration TOML (default: $AOS_HOME/config.toml when present).",
    )(func)


def _seed(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--seed", type=int, default=None, help="Seed for the run's random source.")(func)


def _approve(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--approve", multiple=True, metavar="SKILL|all", help="Approve a skill that needs approval (repeatable)."
    )(func)


def _allow_net(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--allow-net",
        multiple=True,
        metavar="HOST[:PORT]|CIDR",
        help="Allow a network destination the policy refuses by default (repeatable).",
    )(func)


def _contract(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--contract", metavar="JSON|@FILE", default=None, help="Resource contract (budgets, limits).")(
        func
    )


def _profile(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--profile",
        "profile_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="Agent profile JSON file.",
    )(func)


_OPTIONS = {
    "profile": _profile,
    "contract": _contract,
    "allow_net": _allow_net,
    "approve": _approve,
    "config": _config,
    "seed": _seed,
    "store": _store,
}


def runtime_options(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the named runtime options (default: all of them) in one order for every command:
    profile, contract, allow_net, approve, config, seed, store."""
    chosen = [name for name in _OPTIONS if name in names] if names else list(_OPTIONS)
    unknown = set(names) - set(_OPTIONS)
    if unknown:
        raise ValueError(f"unknown runtime options: {sorted(unknown)}")

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return func(*args, **kwargs)

        decorated: Callable[..., Any] = wrapper
        for name in reversed(chosen):
            decorated = _OPTIONS[name](decorated)
        return decorated

    return decorate


def build_runtime(
    *,
    profile_path: Path | None = None,
    contract: str | None = None,
    allow_net: tuple[str, ...] = (),
    approve: tuple[str, ...] = (),
    config_path: Path | None = None,
    seed: int | None = None,
    store: str | Path | None = None,
    **overrides: Any,
) -> Any:
    """A `Runtime` from the shared options; malformed input is a usage error (exit 2)."""
    from pydantic import ValidationError

    from aos_core.contracts.config import RuntimeConfig
    from aos_core.contracts.profile import AgentProfile
    from aos_core.contracts.resources import ResourceContract
    from aos_core.runtime import Runtime

    try:
        profile = AgentProfile()
        if profile_path is not None:
            profile = AgentProfile.model_validate(read_json_arg(f"@{profile_path}", "--profile"))
        raw_contract = read_json_arg(contract, "--contract")
        resource = ResourceContract.model_validate(raw_contract) if raw_contract is not None else profile.contract
        data = profile.model_dump()
        data["policy"]["network"]["allow"] = (*profile.policy.network.allow, *allow_net)
        data["policy"]["approved"] = (*profile.policy.approved, *approve)
        data["contract"] = resource.model_dump()
        profile = AgentProfile.model_validate(data)  # validated again: --allow-net entries included
        default = aos_home() / "config.toml"
        if config_path is not None:  # named on the command line: it must exist
            config = RuntimeConfig.from_toml(config_path)
        else:
            config = RuntimeConfig.from_toml(default) if default.exists() else RuntimeConfig()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        model = {"ResourceContract": ResourceContract, "AgentProfile": AgentProfile}.get(exc.title)
        hint = _field_hint(model, first["loc"]) if first["type"] == "extra_forbidden" and model else ""
        raise click.UsageError(f"invalid {exc.title}: {where}: {first['msg']}{hint}") from None
    except (OSError, ValueError) as exc:
        raise click.UsageError(str(exc)) from None
    store = _store_location(store)
    # no in-memory history: a command's runtime ends with it, and `aos query history` reads a
    # recorded run; 10,000 kept outcomes were ~8 MB of `aos run`'s 100,000 steps (bench case 6)
    config = config.model_copy(update={"history_limit": 0})
    options: dict[str, Any] = {"store": store, "approve": _terminal_approver(), **overrides}
    return Runtime(profile=profile, contract=resource, config=config, seed=seed, **options)


def _store_location(store: str | Path | None) -> str | Path | None:
    """`--store` as the runtime opens it: a URL (`postgresql://...`, `sqlite:///PATH`) as given,
    so `open_store` reads it; a path naming a directory or without a suffix gets `runs.sqlite3`."""
    if store is None or "://" in str(store):
        return store
    path = Path(store)
    return path / "runs.sqlite3" if path.is_dir() or not path.suffix else path


def _field_hint(model: Any, loc: tuple[Any, ...]) -> str:
    """ "; did you mean max_money?" for a misspelt field of `model` (nested models followed)."""
    import difflib

    from pydantic import BaseModel

    for part in loc[:-1]:
        field = model.model_fields.get(part) if isinstance(part, str) else None
        kind = getattr(field, "annotation", None)
        if not (isinstance(kind, type) and issubclass(kind, BaseModel)):
            return ""
        model = kind
    known = list(model.model_fields)
    close = difflib.get_close_matches(str(loc[-1]), known, n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else f"; known fields: {', '.join(known)}"


def _terminal_approver() -> Callable[[Any], bool] | None:
    """Ask on the terminal; with no terminal, approvals are refused."""
    if not (sys.stdin.isatty() and sys.stderr.isatty()):
        return None

    def ask(request: Any) -> bool:
        params = json.dumps(request.params, ensure_ascii=False)[:400]
        return click.confirm(
            f"Approve {request.skill} ({request.side_effects} side effects) with {params}?",
            default=False,
            err=True,
        )

    return ask
