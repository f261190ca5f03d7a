"""The server's pieces on their own: keys, the rate limiter, the queue, run records and the
policy a submitted run gets."""

from __future__ import annotations

from pathlib import Path

import pytest

from aos_core import Policy, ResourceContract, Runtime
from aos_server.auth import RateLimiter
from aos_server.db import Database
from aos_server.errors import ApiError
from aos_server.keys import KeyProblem, KeyStore
from aos_server.policy import run_policy
from aos_server.queue import SQLiteQueue
from aos_server.records import ContractClash, IdempotencyClash, RunRecords


@pytest.fixture
def db(tmp_path: Path) -> Database:
    store = tmp_path / "runs.sqlite3"
    with Runtime(entry_points=False, store=store) as runtime:
        runtime.store  # noqa: B018 - the core's schema first
    return Database(store)


def test_a_key_verifies_only_while_it_is_live_and_exact(db: Database) -> None:
    keys = KeyStore(db)
    key, secret = keys.create("alice", "run")
    assert keys.verify(secret) == key
    for wrong in (None, "", secret + "x", secret[:-1] + ("A" if secret[-1] != "A" else "B"), "aos_x_y", "Bearer"):
        assert keys.verify(wrong) is None, wrong
    keys.revoke("alice")
    assert keys.verify(secret) is None
    with pytest.raises(KeyProblem, match="never reused"):
        keys.create("alice", "run")


def test_a_keys_scope_covers_the_scopes_below_it(db: Database) -> None:
    keys = KeyStore(db)
    reader, runner, admin = (keys.create(n, s)[0] for n, s in [("r", "read"), ("u", "run"), ("a", "admin")])
    assert [reader.allows(s) for s in ("read", "run", "admin")] == [True, False, False]
    assert [runner.allows(s) for s in ("read", "run", "admin")] == [True, True, False]
    assert [admin.allows(s) for s in ("read", "run", "admin")] == [True, True, True]


def test_the_rate_limiter_admits_its_rate_and_says_how_long_to_wait() -> None:
    limiter = RateLimiter()
    assert [limiter.wait_needed("k", 3) for _ in range(3)] == [0, 0, 0]
    wait = limiter.wait_needed("k", 3)
    assert 0 < wait <= 1 / 3 + 0.01
    assert limiter.wait_needed("other", 3) == 0 and limiter.wait_needed("k", None) == 0


def test_the_queue_gives_each_run_to_one_worker_oldest_first(db: Database) -> None:
    queue = SQLiteQueue(db)
    queue.put("r1")
    queue.put("r2", {"explicit": True})
    assert queue.take("w1") == ("r1", {})
    assert queue.take("w2") == ("r2", {"explicit": True})
    assert queue.take("w3") is None and queue.claimed_by("w1") == ["r1"]
    queue.done("r1", "w1")
    queue.release("r2")
    assert queue.take("w3") == ("r2", {"explicit": True})


def test_a_run_queued_again_while_a_worker_holds_it_waits_for_that_worker(db: Database) -> None:
    """An approval decided while the run's worker is still finishing it is not lost."""
    queue = SQLiteQueue(db)
    queue.put("r")
    assert queue.take("w1") == ("r", {})
    queue.put("r", {"explicit": True})
    assert queue.take("w2") is None  # still held
    queue.done("r", "w1")
    assert queue.take("w2") == ("r", {"explicit": True})
    queue.done("r", "w2")
    assert queue.take("w3") is None


def test_a_cancelled_run_leaves_the_queue_only_if_unclaimed(db: Database) -> None:
    queue = SQLiteQueue(db)
    queue.put("a")
    queue.put("b")
    queue.take("w")
    queue.discard("a")
    queue.discard("b")
    assert queue.claimed_by("w") == ["a"] and queue.waiting() == 0
    assert queue.release_all() == 1 and queue.waiting() == 1


def test_an_idempotency_key_stands_for_one_body(db: Database) -> None:
    records = RunRecords(db)
    assert records.claim_idempotency("k", "i", "sha-1", "run-1") == ("run-1", True)
    assert records.claim_idempotency("k", "i", "sha-1", "run-2") == ("run-1", False)
    with pytest.raises(IdempotencyClash) as clash:
        records.claim_idempotency("k", "i", "sha-2", "run-3")
    assert clash.value.run_id == "run-1"
    assert records.claim_idempotency("other-key", "i", "sha-2", "run-4") == ("run-4", True)  # per key
    records.forget_idempotency("k", "i")
    assert records.claim_idempotency("k", "i", "sha-2", "run-5") == ("run-5", True)


def test_a_contract_id_stands_for_one_set_of_limits(db: Database) -> None:
    records = RunRecords(db)
    team = ResourceContract(id="team", max_calls=10)
    records.record("run-1", "k", [team, ResourceContract(max_calls=1)])
    records.check_contracts([team])
    with pytest.raises(ContractClash, match="other limits"):
        records.check_contracts([ResourceContract(id="team", max_calls=11)])
    assert records.contract("team") == team and records.contract("nope") is None
    assert records.owner("run-1").key_name == "k" and records.owner("unknown").key_name is None


def test_a_submitted_policy_narrows_the_servers_and_only_an_admin_widens_the_network() -> None:
    base = Policy(deny_skills=("shell",), allow_skills=("a", "b", "shell"), network={"allow": ["10.0.0.0/8"]})
    asked = Policy(
        allow_skills=("b", "c"), deny_skills=("a",), approval_required_for=(), approved=("b",), network={"allow": []}
    )
    got = run_policy(base, asked, ("c",), admin=False)
    assert got.allow_skills == ("b",) and got.deny_skills == ("shell", "a")
    assert got.approval_required_for == base.approval_required_for  # may not drop the server's approvals
    assert got.approved == ("b", "c") and got.network.allow == ()
    wider = Policy(network={"allow": ["127.0.0.1"]})
    with pytest.raises(ApiError) as refused:
        run_policy(base, wider, (), admin=False)
    assert refused.value.status == 403
    assert run_policy(base, wider, (), admin=True).network.allow == ("127.0.0.1",)
    assert run_policy(base, None, ("x",), admin=False).approved == ("x",)


def test_metrics_report_a_bounded_number_of_shared_budgets(db: Database, tmp_path: Path) -> None:
    """Contract ids come from callers: a scrape reads and reports at most METRIC_BUDGETS of them."""
    from aos_server import service as service_module
    from aos_server.service import Service
    from aos_server.settings import ServerSettings

    records = RunRecords(db)
    for n in range(service_module.METRIC_BUDGETS + 5):
        records.record(f"run-{n}", "k", [ResourceContract(id=f"c{n:04d}", max_calls=10)])
    settings = ServerSettings(store=str(tmp_path / "runs.sqlite3"), workers=0, metrics=False)
    with settings.runtime() as runtime:
        Service(runtime, settings).watch_budgets()
        held = {c["id"] for c in runtime.query("contracts")["contracts"] if c["id"]}
    assert held == {f"c{n:04d}" for n in range(service_module.METRIC_BUDGETS)}
