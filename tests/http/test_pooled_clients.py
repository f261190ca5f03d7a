"""http_call's pooled clients belong to the event loop that made them and are closed with it
(defect 11), and the sync API drives http_call safely from many threads at once."""

from __future__ import annotations

import asyncio
import gc
from concurrent.futures import ThreadPoolExecutor

import aos_skill_http.plugin
from aos_core import AgentProfile, NetworkPolicy, Policy, ResourceContract, Runtime

from .conftest import CountingServer, MakeRuntime


def open_clients() -> int:
    """aiohttp sessions (http_call's pooled clients) alive in this process and not closed."""
    import aiohttp

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, aiohttp.ClientSession) and not o.closed)


def test_twenty_asyncio_runs_of_aexecute_leave_no_client_open(
    make_runtime: MakeRuntime, counting: CountingServer
) -> None:
    """Each `asyncio.run` closes the clients made on its loop: none is left, and close() leaves none."""
    before = open_clients()
    runtime = make_runtime(counting.allow)
    for _ in range(20):
        assert asyncio.run(runtime.aexecute("http_call", {"url": counting("/ok")})).ok
    assert open_clients() == before
    runtime.close()
    assert open_clients() == before


def test_the_client_of_the_runtimes_own_loop_lives_until_close(
    make_runtime: MakeRuntime, counting: CountingServer
) -> None:
    """The sync API's calls share one pooled client, kept while the runtime lives and closed by close()."""
    before = open_clients()
    runtime = make_runtime(counting.allow)
    for _ in range(5):
        assert runtime.execute("http_call", {"url": counting("/ok")}).ok
    assert open_clients() > before
    runtime.close()
    assert open_clients() == before


def test_execute_from_eight_threads_on_http_call_never_raises_or_leaks(counting: CountingServer) -> None:
    """200 http_calls from 8 threads through the sync API: all ok, every hold settled, no client left."""
    policy = Policy(network=NetworkPolicy(allow=(counting.allow,)))
    contract = ResourceContract(max_calls=10_000, max_concurrency=8)
    before = open_clients()
    with Runtime(
        entry_points=False, plugins=[aos_skill_http.plugin], profile=AgentProfile(policy=policy, contract=contract)
    ) as runtime:
        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(lambda _: runtime.execute("http_call", {"url": counting("/ok")}), range(200)))
        assert all(o.ok for o in outcomes), {o.error.message for o in outcomes if not o.ok}
        budget = runtime.query("budget")
        assert budget["reserved"]["calls"] == 0 and budget["spent"]["calls"] == 200
    assert counting.hits[("GET", "/ok")] == 200
    assert open_clients() == before
