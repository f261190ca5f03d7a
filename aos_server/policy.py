"""The policy a run submitted over HTTP gets: the caller's, kept inside the server's.

A caller may narrow what the server's profile allows (fewer skills, more approvals needed,
its own retries, timeouts and failure handling) and approve skills in advance for its own run.
It may not widen the server's reach: the skills the server denies stay denied, the approvals it
requires stay required, and only an admin key may open network destinations (or environment
proxies) beyond the server's, since `http_call` would otherwise reach the server's own network.
Nor may it name another key's budget (`key:NAME`) as its run's contract: that would spend it.
Nor may it name a secret (`${secrets.NAME}`) the server does not offer to keys (`--key-secret`):
the server resolves secrets from its own environment, and a plan can hand one back in a form
redaction does not know (`json_transform` with `reverse(a)`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from aos_core import ErrorCode, Policy, ResourceContract
from aos_server.errors import ApiError
from aos_server.keys import contract_id

__all__ = ["check_run_contract", "check_secrets", "run_policy"]

_SECRET_REF = re.compile(r"\$\{secrets\.([A-Za-z_][A-Za-z0-9_]*)\}")

_KEY_CONTRACTS = contract_id("")


def check_run_contract(contract: ResourceContract, key_name: str, admin: bool) -> None:
    """`ApiError` 403 when a non-admin key names another key's budget (`key:NAME`) as its run's contract."""
    named = contract.id
    if admin or named is None or not named.startswith(_KEY_CONTRACTS) or named == contract_id(key_name):
        return
    raise ApiError(
        403,
        ErrorCode.PERMISSION_DENIED,
        f"contract ids {_KEY_CONTRACTS}NAME are the budgets of API keys; {named!r} is another key's",
        details={"contract": named},
        recovery="Give the run's contract another id (or none); the key's own budget applies by itself.",
    )


def run_policy(base: Policy, requested: Policy | None, approve: tuple[str, ...], admin: bool) -> Policy:
    """The policy of a submitted run; `ApiError` 403 when a non-admin key would widen the network."""
    if requested is None:
        return base if not approve else base.model_copy(update={"approved": (*base.approved, *approve)})
    network = requested.network
    wider = not set(network.allow) <= set(base.network.allow) or (
        network.trust_env_proxies and not base.network.trust_env_proxies
    )
    if wider and not admin:
        raise ApiError(
            403,
            ErrorCode.PERMISSION_DENIED,
            "only an admin key may widen the network policy beyond the server's",
            details={"allowed": list(base.network.allow)},
        )
    if base.allow_skills is None:
        allow = requested.allow_skills
    elif requested.allow_skills is None:
        allow = base.allow_skills
    else:
        allow = tuple(s for s in requested.allow_skills if s in base.allow_skills)
    deny = (*base.deny_skills, *(s for s in requested.deny_skills if s not in base.deny_skills))
    needs = (
        *base.approval_required_for,
        *(s for s in requested.approval_required_for if s not in base.approval_required_for),
    )
    return requested.model_copy(
        update={
            "allow_skills": allow,
            "deny_skills": deny,
            "approval_required_for": needs,
            "approved": (*base.approved, *requested.approved, *approve),
        }
    )


def check_secrets(values: Iterable[Any], offered: tuple[str, ...], admin: bool) -> None:
    """`ApiError` 403 when one of `values` (the parameters a non-admin key submits: a call's, each
    step's, written as JSON one at a time) names a secret not `offered`."""
    if admin:
        return
    for value in values:
        text = json.dumps(value, ensure_ascii=False, default=str)
        if "${secrets." in text:
            _offered_only(text, offered)


def _offered_only(text: str, offered: tuple[str, ...]) -> None:
    for name in dict.fromkeys(_SECRET_REF.findall(text)):
        if name not in offered:
            raise ApiError(
                403,
                ErrorCode.PERMISSION_DENIED,
                f"this key may not use the secret {name}: only an admin key, or secrets the server offers "
                "to keys (aos serve --key-secret NAME), may be named",
                details={"secret": name, "offered": list(offered)},
                recovery=f"Ask the operator to start the server with --key-secret {name}, or use an admin key.",
            )
