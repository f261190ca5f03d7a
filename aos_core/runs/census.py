"""What the run store holds, counted for monitoring (`RunStore.census`, the metrics read when
scraped: `aos_stored_runs`, `aos_stored_runs_oldest_timestamp_seconds`, `aos_approvals_waiting`).

A run recorded `running` whose lease has expired is shown `interrupted` (its process died), here
as everywhere else (`shown_status`, the rule in SQL). Two aggregate queries, whatever the number of runs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["census_of", "shown_status"]


def shown_status(now_sql: str) -> str:
    """The status a run shows, as a SQL expression over `run_state s`: a run recorded as running
    whose lease expired by the store's clock (`now_sql`) was interrupted (killed, crashed). The
    one statement of that rule: listing, filtering, loading and counting all select it."""
    return (
        "CASE WHEN s.status = 'running' AND (s.lease_until IS NULL OR s.lease_until < "
        f"{now_sql}) THEN 'interrupted' ELSE s.status END"
    )


def census_of(db: Any, now_sql: str) -> dict[str, Any]:
    """Runs by shown status, the oldest `updated_at` of each unfinished status, and approvals waiting."""
    runs: dict[str, int] = {}
    oldest: dict[str, str] = {}
    rows = db.execute(
        f"SELECT {shown_status(now_sql)} AS shown, COUNT(*), MIN(s.updated_at) FROM run_state s GROUP BY shown"
    ).fetchall()
    for shown, count, since in rows:
        runs[shown] = int(count)
        if shown in ("queued", "running", "waiting_approval", "interrupted") and since is not None:
            oldest[shown] = since
    waiting = db.execute(
        "SELECT COUNT(*) FROM approvals a JOIN run_state s ON s.id = a.run_id"
        " WHERE a.decision IS NULL AND s.status IN ('waiting_approval', 'running')"
    ).fetchone()[0]
    return {"runs": runs, "oldest": oldest, "approvals_waiting": int(waiting)}
