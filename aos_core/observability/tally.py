"""The per-call metrics counted in plain numbers under one lock, exported when scraped.

Every skill call adds to three metrics: `aos_skill_calls_total`, `aos_skill_call_duration_seconds`
and `aos_skill_attempts_total`. Through prometheus_client's objects that is four locked updates
and a bucket search (~1.2 µs, 11% of a trivial call, before anything else); here it is one lock
and a bisection (~0.3 µs; bench case 6). Used when the process keeps its own values; with
PROMETHEUS_MULTIPROC_DIR the values must live in prometheus_client's files, and `metrics.py`
updates its objects instead.
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections.abc import Iterator
from typing import Any

from aos_core.observability.catalog import DURATION_BUCKETS, metric

__all__ = ["CallTally"]


class _Row:
    """One (skill, code) pair: calls, attempts, and the duration histogram of its calls."""

    __slots__ = ("attempts", "buckets", "calls", "labels", "seconds")

    def __init__(self, labels: tuple[str, str, str]) -> None:
        self.labels = labels  # skill, code, category
        self.calls = 0
        self.attempts = 0
        self.seconds = 0.0
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)  # the last one: above every bound


class CallTally:
    """A collector of the three per-call metrics (register it in a registry)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, str], _Row] = {}

    def row(self, skill: str, code: str, category: str) -> _Row:
        row = self._rows.get((skill, code))
        if row is None:
            with self._lock:
                row = self._rows.setdefault((skill, code), _Row((skill, code, category)))
        return row

    def add(self, row: _Row, seconds: float, attempts: int) -> None:
        with self._lock:
            row.calls += 1
            row.attempts += attempts
            row.seconds += seconds
            row.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        calls_spec, duration_spec, attempts_spec = (
            metric(n) for n in ("aos_skill_calls_total", "aos_skill_call_duration_seconds", "aos_skill_attempts_total")
        )
        calls = CounterMetricFamily(calls_spec.name, calls_spec.help, labels=calls_spec.labels)
        duration = HistogramMetricFamily(duration_spec.name, duration_spec.help, labels=duration_spec.labels)
        attempts = CounterMetricFamily(attempts_spec.name, attempts_spec.help, labels=attempts_spec.labels)
        by_skill: dict[str, tuple[int, float, list[int]]] = {}
        with self._lock:
            rows = [(r.labels, r.calls, r.attempts, r.seconds, list(r.buckets)) for r in self._rows.values()]
        for labels, count, tried, seconds, buckets in rows:
            calls.add_metric(list(labels), count)
            skill = labels[0]
            before = by_skill.get(skill, (0, 0.0, [0] * len(buckets)))
            by_skill[skill] = (
                before[0] + tried,
                before[1] + seconds,
                [a + b for a, b in zip(before[2], buckets, strict=True)],
            )
        for skill, (tried, seconds, buckets) in by_skill.items():
            attempts.add_metric([skill], tried)
            cumulative, running = [], 0
            for bound, count in zip([*DURATION_BUCKETS, float("inf")], buckets, strict=True):
                running += count
                cumulative.append(("+Inf" if bound == float("inf") else str(float(bound)), running))
            duration.add_metric([skill], cumulative, sum_value=seconds)
        yield from (calls, duration, attempts)

    def describe(self) -> list[Any]:
        return []
