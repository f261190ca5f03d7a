"""`query("history")`: past outcomes filtered by `skill`, `status`, `code`; the last `limit`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from aos_core.contracts.errors import ErrorCode
from aos_core.contracts.outcome import StructuredOutcome

__all__ = ["HISTORY_PARAMS", "history_of"]

HISTORY_PARAMS = ("skill", "status", "code", "limit")


def history_of(outcomes: Iterable[StructuredOutcome], params: Any) -> dict[str, Any]:
    """`query("history")` over `outcomes`: filtered by `skill`, `status`, `code`; the last `limit`
    (default 100). Params that mean nothing are a `ValueError` saying which and what would do."""
    if not isinstance(params, Mapping):
        raise ValueError(f"history params are a JSON object with {', '.join(HISTORY_PARAMS)}, not {params!r:.80}")
    unknown = sorted(str(k) for k in params if k not in HISTORY_PARAMS)
    if unknown:
        raise ValueError(f"unknown history param(s) {', '.join(unknown)}; use {', '.join(HISTORY_PARAMS)}")
    skill = params.get("skill")
    status = params.get("status")
    code = params.get("code")
    if skill is not None and not isinstance(skill, str):
        raise ValueError(f"history skill must be a skill name, not {skill!r:.80}")
    if status not in (None, "ok", "failed"):
        raise ValueError("history status must be 'ok' or 'failed'")
    if code is not None:
        try:
            code = ErrorCode(code)
        except ValueError:
            raise ValueError(f"history code {code!r:.80} is not a code of the failure catalog (aos failures)") from None
    limit = params.get("limit", 100)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
        raise ValueError(f"history limit must be a whole number, 0 or more, not {limit!r:.80}")
    chosen = [
        o
        for o in outcomes
        if (skill is None or o.skill == skill)
        and (status is None or o.ok == (status == "ok"))
        and (code is None or (o.error is not None and o.error.code == code))
    ]
    total = len(chosen)
    return {"count": total, "outcomes": [o.model_dump(mode="json") for o in chosen[-limit:]] if limit else []}
