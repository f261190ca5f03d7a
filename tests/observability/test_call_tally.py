"""The per-call metrics (calls, attempts, duration) count every call exactly once, whether a
scrape or a long run of calls counts in what was noted, from any number of threads."""

from __future__ import annotations

import threading
from typing import Any

from aos_core import Runtime, render_metrics
from aos_core.testing import FakePlugin, fake_skill


def _samples(registry: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    body, _ = render_metrics(registry=registry)
    return {
        (s.name, tuple(sorted(s.labels.items()))): float(s.value)
        for family in text_string_to_metric_families(body.decode("utf-8"))
        for s in family.samples
    }


def _counts(registry: Any) -> tuple[float, float, float]:
    """(calls, attempts, durations observed) of the echo skill's successful calls."""
    found = _samples(registry)
    return (
        found[("aos_skill_calls_total", (("category", "OK"), ("code", "OK"), ("skill", "echo")))],
        found[("aos_skill_attempts_total", (("skill", "echo"),))],
        found[("aos_skill_call_duration_seconds_count", (("skill", "echo"),))],
    )


def _runtime(registry: Any) -> Runtime:
    return Runtime(plugins=[FakePlugin(skills=[fake_skill("echo")], name="fakes")], entry_points=False, metrics=registry)


def test_calls_from_many_threads_are_each_counted_once(registry: Any) -> None:
    """Four threads making 300 calls each (more than a row notes before counting them in) show
    1,200 calls, attempts and durations in the next scrape."""
    with _runtime(registry) as rt:

        def calls() -> None:
            for i in range(300):
                assert rt.execute("echo", {"text": str(i)}).ok

        threads = [threading.Thread(target=calls) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert _counts(registry) == (1200.0, 1200.0, 1200.0)


def test_a_scrape_counts_in_the_calls_made_since_the_last_one(registry: Any) -> None:
    """Calls made between two scrapes show in the second, none twice."""
    with _runtime(registry) as rt:
        for _ in range(3):
            rt.execute("echo", {"text": "a"})
        assert _counts(registry) == (3.0, 3.0, 3.0)
        for _ in range(2):
            rt.execute("echo", {"text": "b"})
        assert _counts(registry) == (5.0, 5.0, 5.0)
