"""A key's own contract is one budget for everything the key does, across every worker process:
1,000 concurrent submits under a key whose budget admits 100 calls make exactly 100 calls."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from typing import Any

import httpx
import pytest
from serverproc import ServerProcess, plan, step

from aos_core import ResourceContract

pytestmark = [pytest.mark.network, pytest.mark.slow]

SUBMITS = 1000
LIMIT = 100


async def _submit_all(server: ServerProcess, key: str) -> list[httpx.Response]:
    body = {"plan": plan(step("a", "note"))}
    limits = httpx.Limits(max_connections=SUBMITS, max_keepalive_connections=SUBMITS)
    async with httpx.AsyncClient(base_url=server.url, headers={"X-API-Key": key}, limits=limits, timeout=120) as client:
        return await asyncio.gather(*(client.post("/v1/runs", json=body) for _ in range(SUBMITS)))


def test_a_keys_budget_admits_exactly_its_limit_under_1000_concurrent_submits(new_server: Any) -> None:
    server: ServerProcess = new_server("--workers", "4", "--concurrency", "16", "--no-access-log")
    key = server.key("tenant", "run", ResourceContract(max_calls=LIMIT), rate=100_000)
    server.start()
    answers = asyncio.run(_submit_all(server, key))
    assert Counter(a.status_code for a in answers) == {202: SUBMITS}
    run_ids = {a.json()["run_id"] for a in answers}
    assert len(run_ids) == SUBMITS
    with server.client(server.admin) as client:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            runs = client.get("/v1/runs", params={"limit": 500, "status": "queued"}).json()["runs"]
            busy = client.get("/v1/runs", params={"limit": 500, "status": "running"}).json()["runs"]
            if not runs and not busy:
                break
            time.sleep(0.5)
        ended = {}
        offset: int | None = 0
        while offset is not None:
            page = client.get("/v1/runs", params={"limit": 500, "offset": offset}).json()
            ended.update({r["run_id"]: r["status"] for r in page["runs"]})
            offset = page["next_offset"]
        assert set(ended) == run_ids
        assert Counter(ended.values()) == {"completed": LIMIT, "failed": SUBMITS - LIMIT}
        refused = next(run_id for run_id, status in ended.items() if status == "failed")
        error = client.get(f"/v1/runs/{refused}").json()["steps"][0]["outcome"]["error"]
        assert error["code"] == "BUDGET_EXCEEDED" and error["details"]["contract"] == "key:tenant"
        budget = client.get("/v1/budgets/key:tenant").json()
    assert budget["spent"]["calls"] == LIMIT and budget["reserved"]["calls"] == 0
    assert budget["remaining"]["calls"] == 0 and budget["limits"]["max_calls"] == LIMIT
    made = [line for line in server.calls() if line.startswith("note ")]
    assert len(made) == LIMIT  # the calls that really happened
    assert len({line.split()[-1] for line in made}) > 1, "the calls should come from several worker processes"
    assert json.loads(json.dumps(budget))["contract"] == "key:tenant"
