"""`aos run --resume RUN` with options that would change the run: a resumed run keeps the
contract, policy and seed it was recorded with (its header), so these options cannot apply to it.
Given as they were when the run started (the command repeated with --resume) they are accepted;
anything else is a usage error rather than silently ignored."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["refuse_changes_on_resume"]

# the options of `aos run` that set what a run's header holds
_RECORDED_OPTIONS = (
    ("--profile", "profile_path"),
    ("--contract", "contract"),
    ("--allow-net", "allow_net"),
    ("--seed", "seed"),
)


def refuse_changes_on_resume(runtime: Any, run_id: str, options: dict[str, Any]) -> None:
    """Raise a usage error when an option given with `--resume` differs from the recorded run."""
    given = [flag for flag, name in _RECORDED_OPTIONS if options.get(name) not in (None, ())]
    if not given:
        return
    from aos_core.contracts.exceptions import AOSError
    from aos_core.contracts.profile import Policy
    from aos_core.contracts.resources import ResourceContract

    try:
        header = runtime.trace(run_id).header
    except AOSError:
        return  # an unknown run: the resume itself says so
    changed = []
    sets_contract, sets_policy = {"--contract", "--profile"} & set(given), {"--allow-net", "--profile"} & set(given)
    if sets_contract and runtime.contract != ResourceContract.model_validate(header["contract"]):
        changed.append("contract")
    if sets_policy and runtime.profile.policy != Policy.model_validate(header["policy"]):
        changed.append("policy")
    if "--seed" in given and runtime.seed != header.get("seed"):
        changed.append("seed")
    if changed:
        raise click.UsageError(
            f"{', '.join(given)} would change the {' and '.join(changed)} of run {run_id}, which a resumed run "
            "keeps as it was recorded with; drop them (or start a new run with PLAN)"
        )
