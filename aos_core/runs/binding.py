"""How a step's parameters are bound: `bind_step`, the one function that resolves a plan's
literals, for runs, resumes and replays alike."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aos_core.execution.secrets import SecretStore, resolve_secrets
from aos_core.planning.references import resolve_references

__all__ = ["bind_step"]


def bind_step(
    literal: Mapping[str, Any], outputs: Mapping[str, Any], references: bool = True
) -> tuple[Any, Callable[[SecretStore], Any] | None]:
    """A step's parameters as the trace keeps them (step references resolved, secret references
    kept), and the binder the pipeline calls for what the skill gets: secrets resolved in the
    plan's own text first, then step outputs substituted, so a `${secrets...}` inside fetched data
    is passed on as text and never resolved. `UnresolvedReference` when an output is missing.
    `references=False`: the plan's analysis found none in `literal`, so nothing is substituted and
    there is no binder (the pipeline resolves the secrets in the literal itself)."""
    if not references:
        return literal, None
    params = resolve_references(literal, outputs)

    def bind(secrets: SecretStore) -> Any:
        with_secrets = resolve_secrets(literal, secrets)
        return params if with_secrets is literal else resolve_references(with_secrets, outputs)

    return params, bind
