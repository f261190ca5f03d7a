"""Run ids stay unique when many runs are created in the same second (a server under load)."""

from __future__ import annotations

from aos_core.runs.service import new_run_id


def test_a_hundred_thousand_run_ids_made_at_once_are_all_different() -> None:
    # With 24 random bits, 100,000 ids made within a few seconds collide about 300 times; with 48
    # bits, the chance of one collision is under one in ten thousand.
    ids = [new_run_id() for _ in range(100_000)]
    assert len(set(ids)) == len(ids)
