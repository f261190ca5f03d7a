"""Every metric AOS exports, as data: name, kind, help text, labels, and how several processes
sharing one port combine a gauge (Prometheus multiprocess mode).

This list is the one source: the Prometheus objects are built from it (`metrics.py`), the
exposition test checks it, docs/operations.md lists it, and the dashboard and alert rules in
monitoring/ may only name metrics found here (a test checks them). Importing it imports nothing
else: no prometheus_client.

Conventions (https://prometheus.io/docs/practices/naming/): the `aos_` prefix, base units
(seconds; money in the contract's currency units, as its own label), `_total` on counters,
`_seconds` on durations and `_timestamp_seconds` on points in time. Label values are bounded:
skill names are those loaded (an unknown name is counted as `(unknown)`), codes and categories
come from the failure catalog, contracts are named by their id (a contract without one, which
lives for one run, is `(run)`), models by what the skill reports. Never a run id, a URL, a
parameter or a message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["DURATION_BUCKETS", "METRICS", "RUN_BUCKETS", "MetricSpec", "metric"]

Kind = Literal["counter", "gauge", "histogram"]

# A trivial skill takes ~10 µs, an HTTP call milliseconds, an LLM call seconds to minutes.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
RUN_BUCKETS = (0.01, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 1800, 3600, 7200, 21600, 86400)


@dataclass(frozen=True)
class MetricSpec:
    """One metric. `mode`: how a gauge combines across processes sharing a port (`livesum`:
    summed over live processes, `livemax`: their maximum, ...); `source` says who sets it:
    `call` (each skill call), `run` (the run engine), `runtime` (at load), `worker` (the server's
    worker loop), `scrape` (read when scraped: budgets, the run store)."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()
    source: str = "call"
    mode: str = "livesum"
    buckets: tuple[float, ...] = ()


METRICS: tuple[MetricSpec, ...] = (
    # -- skill calls -------------------------------------------------------------------------------
    MetricSpec(
        "aos_skill_calls_total",
        "counter",
        "Skill calls finished, by skill, outcome code (OK or a failure code) and category (OK or a failure category).",
        ("skill", "code", "category"),
    ),
    MetricSpec(
        "aos_skill_call_duration_seconds",
        "histogram",
        "Duration of a skill call, from its first gate to its outcome, retries and waits included.",
        ("skill",),
        buckets=DURATION_BUCKETS,
    ),
    MetricSpec(
        "aos_skill_attempts_total", "counter", "Attempts made by skill calls (a retry is one more).", ("skill",)
    ),
    MetricSpec(
        "aos_skill_retries_total",
        "counter",
        "Attempts that failed and were retried, by skill and the failure code that caused the retry.",
        ("skill", "code"),
    ),
    MetricSpec(
        "aos_budget_refusals_total",
        "counter",
        "Calls refused by a budget before being sent, by skill and the limit that refused them "
        "(max_calls, max_money, max_input_tokens, max_output_tokens, max_wall_time_ms, currency).",
        ("skill", "limit"),
    ),
    MetricSpec(
        "aos_rate_limit_waits_total", "counter", "Attempts that waited for a rate limit before being sent.", ("skill",)
    ),
    MetricSpec(
        "aos_rate_limit_wait_seconds_total", "counter", "Time spent waiting for rate limits, in seconds.", ("skill",)
    ),
    MetricSpec(
        "aos_policy_refusals_total",
        "counter",
        "Calls refused by the policy (POLICY_VIOLATION) or for want of an approval (PERMISSION_DENIED).",
        ("skill", "code"),
    ),
    MetricSpec(
        "aos_approvals_requested_total",
        "counter",
        "Steps that paused their run to wait for an approval decision.",
        ("skill",),
        source="run",
    ),
    # -- money and tokens ------------------------------------------------------------------------
    MetricSpec(
        "aos_money_spent_total",
        "counter",
        "Money spent by skill calls, in units of the currency (a float here; the ledger stays exact).",
        ("skill", "model", "contract", "currency"),
    ),
    MetricSpec(
        "aos_tokens_spent_total",
        "counter",
        "Tokens spent by skill calls, by direction (input or output).",
        ("skill", "model", "contract", "direction"),
    ),
    MetricSpec(
        "aos_budget_limit",
        "gauge",
        "A contract's limit (money in its currency's units), for contracts with an id and the runtime's own.",
        ("contract", "limit"),
        source="scrape",
    ),
    MetricSpec(
        "aos_budget_reserved",
        "gauge",
        "What calls in flight hold of a contract's limit (their worst case), by limit.",
        ("contract", "limit"),
        source="scrape",
    ),
    MetricSpec(
        "aos_budget_remaining",
        "gauge",
        "What is left of a contract's limit, after what was spent and what is reserved.",
        ("contract", "limit"),
        source="scrape",
    ),
    # -- runs --------------------------------------------------------------------------------------
    MetricSpec(
        "aos_runs_started_total",
        "counter",
        "Runs started by this process: new runs (mode new) and resumed ones (mode resume).",
        ("mode",),
        source="run",
    ),
    MetricSpec(
        "aos_runs_ended_total",
        "counter",
        "Runs that stopped, by status (completed, failed, cancelled, interrupted, waiting_approval).",
        ("status",),
        source="run",
    ),
    MetricSpec(
        "aos_run_duration_seconds",
        "histogram",
        "Duration of a run by this process, from start (or resume) to its end or pause, by status.",
        ("status",),
        source="run",
        buckets=RUN_BUCKETS,
    ),
    MetricSpec(
        "aos_steps_committed_total",
        "counter",
        "Steps committed to the run store, by outcome (ok or failed).",
        ("outcome",),
        source="run",
    ),
    MetricSpec("aos_runs_in_progress", "gauge", "Runs this process is executing now.", source="run", mode="livesum"),
    MetricSpec(
        "aos_replays_total",
        "counter",
        "Replays of recorded runs, by result (matched or diverged).",
        ("result",),
        source="run",
    ),
    MetricSpec(
        "aos_stored_runs",
        "gauge",
        "Runs in the run store by status, read when scraped.",
        ("status",),
        source="scrape",
    ),
    MetricSpec(
        "aos_stored_runs_oldest_timestamp_seconds",
        "gauge",
        "When the oldest run in each unfinished status (queued, running, waiting_approval, interrupted) "
        "got that status, as a Unix time; read from the run store when scraped.",
        ("status",),
        source="scrape",
    ),
    MetricSpec(
        "aos_approvals_waiting",
        "gauge",
        "Steps waiting for an approval decision, read from the run store when scraped.",
        source="scrape",
    ),
    # -- plugins, build, workers -------------------------------------------------------------------
    MetricSpec(
        "aos_plugin_load_failures",
        "gauge",
        "1 for each plugin that failed to load in this process (its reason: `aos plugins`).",
        ("plugin",),
        source="runtime",
        mode="livemax",
    ),
    MetricSpec(
        "aos_build_info",
        "gauge",
        "Always 1: the version of aos-core and of each plugin distribution loaded.",
        ("component", "version"),
        source="runtime",
        mode="livemax",
    ),
    MetricSpec(
        "aos_worker_up",
        "gauge",
        "1 per live worker process (set by the server's workers; summed across processes).",
        source="worker",
        mode="livesum",
    ),
    MetricSpec(
        "aos_worker_last_heartbeat_timestamp_seconds",
        "gauge",
        "When a worker last reported it was alive and taking work, as a Unix time (the latest of all workers).",
        source="worker",
        mode="livemax",
    ),
)


def metric(name: str) -> MetricSpec:
    """The spec of metric `name` (`KeyError` when AOS has no such metric)."""
    for spec in METRICS:
        if spec.name == name:
            return spec
    raise KeyError(name)
