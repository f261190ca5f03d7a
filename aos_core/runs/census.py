"""What the run store holds, counted for monitoring (`RunStore.census`, the metrics read when
scraped: `aos_stored_runs`, `aos_stored_runs_oldest_timestamp_seconds`, `aos_approvals_waiting`).

A run recorded `running` whose lease has expired is shown `interrupted` (its process died), here
as everywhere else. Three aggregate queries, whatever the number of runs.
"""

from __future__ import annotations

import time
from typing import Any

from aos_core.contracts.runs import RunStatus

__all__ = ["census_of", "shown_status"]


def shown_status(status: str, lease_until: float | None, now: float | None = None) -> RunStatus:
    """A run recorded as running whose lease expired was interrupted (killed, crashed)."""
    if status == "running" and (lease_until is None or lease_until < (time.time() if now is None else now)):
        return "interrupted"
    return status  # type: ignore[return-value]


def census_of(db: Any, now: float) -> dict[str, Any]:
    """Runs by shown status, the oldest `updated_at` of each unfinished status, and approvals waiting."""
    runs: dict[str, int] = {}
    oldest: dict[str, str] = {}
    rows = db.execute(
        "SELECT status, live, COUNT(*), MIN(updated_at) FROM (SELECT status, updated_at,"
        " CASE WHEN lease_until IS NOT NULL AND lease_until >= ? THEN 1 ELSE 0 END AS live FROM run_state) s"
        " GROUP BY status, live",
        (now,),
    ).fetchall()
    for status, live, count, since in rows:
        shown = shown_status(status, now + 1 if live else None, now)
        runs[shown] = runs.get(shown, 0) + int(count)
        if shown in ("queued", "running", "waiting_approval", "interrupted") and since is not None:
            oldest[shown] = min(oldest.get(shown, since), since)
    waiting = db.execute(
        "SELECT COUNT(*) FROM approvals a JOIN run_state s ON s.id = a.run_id"
        " WHERE a.decision IS NULL AND s.status IN ('waiting_approval', 'running')"
    ).fetchone()[0]
    return {"runs": runs, "oldest": oldest, "approvals_waiting": int(waiting)}
