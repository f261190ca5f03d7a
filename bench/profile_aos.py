"""cProfile of the AOS side of cases 1, 3, 4, 5 and 8, and of `aos skills --json`.

Writes bench/results/profiles/{execute,run,replay,simulate,http,skills,coldstart}.txt: the top functions by
own time and by cumulative time (paths relative to the repository or to site-packages), and
prints the top few of each. cProfile slows pure-Python code several-fold, so read the shares,
not the absolute times (the timings come from run.py).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from benchlib import BENCH, ROOT, echo_runtime, plan

OUT = BENCH / "results" / "profiles"
SITE = sysconfig.get_paths()["purelib"]


def _text(stats: pstats.Stats, title: str, top: int) -> str:
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    out.write(f"# {title}\n\n## by own time (tottime)\n")
    stats.sort_stats("tottime").print_stats(top)
    out.write("\n## by cumulative time\n")
    stats.sort_stats("cumulative").print_stats(top)
    text = out.getvalue().replace(str(ROOT) + "/", "").replace(SITE + "/", "site-packages/")
    return text.replace(str(Path(sys.base_prefix) / "lib") + "/", "stdlib/")


def _save(name: str, profiler: cProfile.Profile | str, title: str, top: int = 35) -> None:
    stats = pstats.Stats(profiler)
    text = _text(stats, title, top)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{name}.txt").write_text(text)
    lines = text.split("## by own time (tottime)")[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith("ncalls"))
    print(f"\n== {title}  ->  {(OUT / name).relative_to(ROOT)}.txt")
    for line in lines[start : start + 11]:
        print(line[:160])


def profile(fn: Any) -> cProfile.Profile:
    profiler = cProfile.Profile()
    profiler.enable()
    fn()
    profiler.disable()
    return profiler


def profile_http(requests: int = 2_000, concurrency: int = 8) -> None:
    """http_call through Runtime.aexecute against the raw local server (case 3's)."""
    import asyncio

    from aos_core import AgentProfile, NetworkPolicy, Policy, Runtime

    server = subprocess.Popen(
        [sys.executable, str(BENCH / "http_server.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        url = f"http://127.0.0.1:{port}/"
        profile_ = AgentProfile(policy=Policy(network=NetworkPolicy(allow=(f"127.0.0.1:{port}",))))

        async def calls() -> cProfile.Profile:
            async with Runtime(profile=profile_, seed=1) as runtime:
                for _ in range(50):
                    assert (await runtime.aexecute("http_call", {"url": url})).ok
                left = requests

                async def worker() -> None:
                    nonlocal left
                    while left > 0:
                        left -= 1
                        await runtime.aexecute("http_call", {"url": url})

                profiler = cProfile.Profile()
                profiler.enable()
                await asyncio.gather(*(worker() for _ in range(concurrency)))
                profiler.disable()
                return profiler

        title = f"case 3: {requests} x http_call via Runtime.aexecute, {concurrency} in flight, local server"
        _save("http", asyncio.run(calls()), title)
    finally:
        if server.stdin:
            server.stdin.close()
        server.wait(timeout=10)


def main() -> None:
    params = {"x": 1, "s": "a"}
    from aos_core import ResourceContract

    with echo_runtime(contract=ResourceContract(max_calls=10**12, max_money="1000000")) as runtime:
        runtime.execute("echo", params)

        def calls() -> None:
            for _ in range(20_000):
                runtime.execute("echo", params)

        _save("execute", profile(calls), "case 1: 20,000 x Runtime.execute of the echo skill")

    # Runtime.run and Runtime.replay drive their coroutine on the runtime's own loop thread, which
    # cProfile (profiling the calling thread only) would not see: profile the async twins on a loop
    # of this thread instead. Threads the run starts (the lease renewal) are not profiled.
    import asyncio

    big = plan(10_000)
    with (
        tempfile.TemporaryDirectory(prefix="aos-bench-prof-") as tmp,
        echo_runtime(store=Path(tmp) / "runs.sqlite3") as runtime,
    ):
        asyncio.run(runtime.arun(plan(200)))  # imports, caches
        holder: dict[str, Any] = {}
        _save(
            "run",
            profile(lambda: holder.setdefault("r", asyncio.run(runtime.arun(big)))),
            "case 4: Runtime.arun, 10,000 steps, SQLite",
        )
        run_id = holder["r"].run_id
        assert holder["r"].ok
        _save("replay", profile(lambda: asyncio.run(runtime.areplay(run_id))), "case 4: Runtime.areplay of that run")

    small = plan(1_000)
    with echo_runtime() as runtime:
        runtime.simulate(small)

        def simulations() -> None:
            for _ in range(20):
                runtime.simulate(small)

        _save("simulate", profile(simulations), "case 5: 20 x Runtime.simulate, 1,000 steps")

    profile_http()

    from case_skills import make_skills

    from aos_core import Runtime
    from aos_core.testing import FakePlugin

    Runtime(plugins=[FakePlugin(skills=make_skills(1, "warm"), name="warm")], entry_points=False, seed=1).close()
    skills = make_skills(1_000, "skill")
    built: dict[str, Any] = {}
    _save(
        "skills",
        profile(
            lambda: built.setdefault("rt", Runtime(plugins=[FakePlugin(skills=skills)], entry_points=False, seed=1))
        ),
        "case 8: building a Runtime with 1,000 skills",
    )
    built["rt"].close()

    with tempfile.TemporaryDirectory(prefix="aos-bench-prof-") as tmp:
        out = Path(tmp) / "cold.prof"
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env.update(AOS_HOME=tmp, AOS_NO_CACHE="1")  # the path after an install or upgrade
        argv = [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "aos_core", "skills", "--json"]
        for _ in range(2):  # the first run writes bytecode caches
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
        _save("coldstart", str(out), "case 2: aos skills --json, discovery cache off, one process (imports included)")


if __name__ == "__main__":
    main()
