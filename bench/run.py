"""The benchmark harness: one command that installs, runs every case and prints the tables and targets.

    python3 bench/run.py                 # everything (about 9 minutes on a 2-core machine)
    python3 bench/run.py --quick         # fewer rounds, runs up to 50k steps (about 3-4 minutes)
    python3 bench/run.py --cases 1,4     # some cases only (see CASES below, or bench/README.md)
    python3 bench/run.py --profile       # also cProfile the AOS side into bench/results/profiles/
    python3 bench/run.py --update-docs   # also write the results into docs/performance.md
    python3 bench/run.py --report bench/results/latest.json   # re-render a saved run

It creates (or reuses) the virtual environment .bench-venv at the repository root, installs
aos-core and the three skill packages (editable) plus bench/requirements.txt (reinstalled when
one of those files changes), then re-runs itself inside it. Every case runs in its own process
(and the scaling cases one process per figure). Results go to bench/results/latest.md and
latest.json; a full run of every case also appends its target results to
bench/results/history.jsonl, from which each target says in how many of the last full runs it
held. Network traffic: 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = ROOT / ".bench-venv"
RESULTS = BENCH / "results"
HISTORY = RESULTS / "history.jsonl"
HISTORY_WINDOW = 10  # "held in K of the last N full runs": N at most this
PACKAGES = (".", "./aos_skill_http", "./aos_skill_json", "./aos_skill_llm", "./aos_server")
DOCS = ROOT / "docs" / "performance.md"
DOCS_START, DOCS_END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"

CASES = {
    "1": "`Runtime.execute` of a trivial sync skill (µs per call, lower is better)",
    "2": "Cold start of the command line (ms per process, lower is better)",
    "3": "`http_call` against raw clients, same local server (requests/s, higher is better)",
    "4": "Runs and replays from 1k to 100k steps (µs per step, lower is better)",
    "5": "`simulate()` of 1,000 steps (ms, lower is better)",
    "6": "Peak memory of `aos run` and `aos replay` (MiB, lower is better)",
    "7": "Plugins installed: 0, 100, 300 (ms per process, lower is better)",
    "8": "Building a `Runtime` with 1, 100, 1,000 skills (ms, lower is better)",
    "9": "Observability on against off (µs per execute, ms per 10,000-step run; lower is better)",
    "10": "`aos serve` under load, beside a bare FastAPI app (requests/s, higher is better)",
    "11": "Runs on 1, 2, 4 `aos worker`s on PostgreSQL beside one SQLite process (runs/s, steps/s; higher is better)",
}

# -- the environment --------------------------------------------------------------------------


def _stamp() -> str:
    digest = hashlib.sha256(sys.version.encode())
    for path in [BENCH / "requirements.txt", *(ROOT / p / "pyproject.toml" for p in PACKAGES)]:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def ensure_venv(install: bool) -> Path:
    """Create .bench-venv if missing; (re)install when the requirements or a pyproject changed."""
    python = VENV / "bin" / "python"
    if sys.version_info < (3, 11):  # noqa: UP036 - run.py starts under any python3, before the venv exists
        raise SystemExit("bench/run.py needs Python 3.11 or newer")
    if not python.exists():
        print(f"creating {VENV.relative_to(ROOT)} ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    marker = VENV / ".aos-bench-stamp"
    stamp = _stamp()
    if install and (not marker.exists() or marker.read_text() != stamp):
        print("installing aos-core, the skill packages and the bench extras ...", flush=True)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "--upgrade", "pip"], check=True, cwd=ROOT)
        editable = [arg for p in PACKAGES for arg in ("-e", p)]
        subprocess.run([*pip, *editable, "-r", str(BENCH / "requirements.txt")], check=True, cwd=ROOT)
        marker.write_text(stamp)
    return python


# -- running the cases ------------------------------------------------------------------------


def case_plan(quick: bool, hyperfine: bool) -> dict[str, list[str]]:
    """case number -> the script (with arguments) that produces it."""
    timer = ["--timer", "hyperfine"] if hyperfine else []
    if quick:
        return {
            "1": ["case_execute.py", "--rounds", "5", "--batch-seconds", "0.03"],
            "2": ["case_coldstart.py", "--only", "coldstart", "--runs", "8", "--warmup", "1", *timer],
            "3": ["case_http.py", "--rounds", "3", "--seconds", "0.5"],
            "4": ["case_runs.py", "--only", "runs", "--sizes", "1000,10000,50000", "--rounds", "2"],
            "5": ["case_runs.py", "--only", "simulate", "--simulate-rounds", "5"],
            "6": ["case_peak.py", "--sizes", "100000", "--rounds", "1"],
            "7": ["case_coldstart.py", "--only", "plugins", "--runs", "6", "--warmup", "1", *timer],
            "8": ["case_skills.py", "--rounds", "4"],
            "9": ["case_observability.py", "--rounds", "5", "--batch-seconds", "0.03", "--run-rounds", "2"],
            "10": ["case_server.py", "--rounds", "2", "--seconds", "1"],
            "11": ["case_scale.py", "--rounds", "1", "--runs", "200"],
        }
    return {
        "1": ["case_execute.py", "--rounds", "15"],
        "2": ["case_coldstart.py", "--only", "coldstart", "--runs", "15", "--warmup", "2", *timer],
        "3": ["case_http.py", "--rounds", "5", "--seconds", "1.0"],
        "4": ["case_runs.py", "--only", "runs", "--sizes", "1000,10000,50000,100000", "--rounds", "4"],
        "5": ["case_runs.py", "--only", "simulate", "--simulate-rounds", "15"],
        "6": ["case_peak.py", "--sizes", "50000,100000", "--rounds", "2"],
        "7": ["case_coldstart.py", "--only", "plugins", "--runs", "15", "--warmup", "2", *timer],
        "8": ["case_skills.py", "--rounds", "8"],
        "9": ["case_observability.py", "--rounds", "15", "--run-rounds", "5"],
        "10": ["case_server.py", "--rounds", "3", "--seconds", "2"],
        "11": ["case_scale.py", "--rounds", "2", "--runs", "400"],
    }


def child_env() -> dict[str, str]:
    # Bytecode caching as on a user's machine (some sandboxes switch it off, which makes every
    # cold start recompile the sources it imports).
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_script(python: Path, argv: list[str]) -> dict[str, Any]:
    """The case document a script prints; a failed script gives a document saying why."""
    with tempfile.TemporaryFile() as err:
        result = subprocess.run(
            [str(python), str(BENCH / argv[0]), *argv[1:]],
            cwd=BENCH,
            env=child_env(),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            check=False,
            timeout=3600,
        )
        err.seek(0)
        stderr = err.read().decode(errors="replace")
    docs = [json.loads(line) for line in result.stdout.splitlines() if line.strip().startswith("{")]
    if result.returncode != 0 or not docs:
        tail = " | ".join(line.strip() for line in stderr.strip().splitlines()[-3:])
        return {"rows": [], "notes": [], "failed": f"{' '.join(argv)} exited {result.returncode}: {tail}"}
    doc: dict[str, Any] = docs[-1]
    return doc


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False).stdout


def tree_state() -> str:
    """HEAD plus a digest of every change to the code measured (bench/ and docs/performance.md aside)."""
    outside = ["--", ".", ":!bench", ":!docs/performance.md"]
    digest = hashlib.sha256((_git("diff", "HEAD", *outside) + _git("status", "--porcelain", *outside)).encode())
    return f"{_git('rev-parse', '--short', 'HEAD').strip()}:{digest.hexdigest()[:12]}"


def machine(python: Path) -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    probe = (
        "import json, sqlite3, sys; from importlib.metadata import version, PackageNotFoundError\n"
        "names = ['aos-core', 'aos-skill-http', 'pydantic', 'pydantic-core', 'click', 'pluggy', 'langchain-core',"
        " 'pydantic-ai-slim', 'aiohttp', 'httpx', 'httpx2', 'httpcore2', 'httpx-aiohttp', 'llm', 'anthropic']\n"
        "def v(n):\n    try: return version(n)\n    except PackageNotFoundError: return None\n"
        "print(json.dumps({'python': sys.version.split()[0], 'sqlite': sqlite3.sqlite_version,"
        " 'packages': {n: v(n) for n in names}}))"
    )
    info = json.loads(subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout)
    try:
        hyperfine = subprocess.run(["hyperfine", "--version"], capture_output=True, text=True, check=False)
    except FileNotFoundError:  # not installed: cold starts are timed in rounds by the case itself
        hyperfine = subprocess.CompletedProcess(["hyperfine"], 127, "", "")
    dirty = _git("status", "--porcelain", "--", ".", ":!bench", ":!docs/performance.md")
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "hyperfine": hyperfine.stdout.strip() if hyperfine.returncode == 0 else None,
        "commit": _git("rev-parse", "--short", "HEAD").strip() + (" + uncommitted changes" if dirty.strip() else ""),
        "tree": tree_state(),
        **info,
    }


# -- figures ------------------------------------------------------------------------------------

Row = dict[str, Any]


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def find(cases: dict[str, dict[str, Any]], case: str, key: str) -> Row | None:
    """The row of `case` whose key is `key` (or whose name starts with it)."""
    for r in cases.get(case, {}).get("rows", []):
        if r.get("key") == key:
            return r
    for r in cases.get(case, {}).get("rows", []):
        if r["name"].startswith(key):
            return r
    return None


def paired(cases: dict[str, dict[str, Any]], case: str, a: Row | None, b: Row | None) -> list[float] | None:
    """The per-round ratios a/b when the case measured both in the same rounds, else None."""
    if a is None or b is None:
        return None
    if not cases.get(case, {}).get("paired", False) or len(a["samples"]) != len(b["samples"]):
        return None
    return [x / y for x, y in zip(a["samples"], b["samples"], strict=True)]


def ratio_stats(cases: dict[str, dict[str, Any]], case: str, a: Row | None, b: Row | None) -> tuple[float, ...] | None:
    """(median, min, max) of the per-round ratios a/b; (ratio of medians,) when not paired."""
    if a is None or b is None:
        return None
    ratios = paired(cases, case, a, b)
    if ratios is None:
        return (a["median"] / b["median"],)
    return statistics.median(ratios), min(ratios), max(ratios)


# -- the targets --------------------------------------------------------------------------------


def server_table(rows: list[dict[str, Any]]) -> list[str]:
    """Case 10: each endpoint and concurrency, aos serve beside the bare app."""
    head = "| endpoint | clients | aos serve req/s | p50 ms | p99 ms | bare FastAPI req/s | p50 ms | p99 ms "
    head += "| aos / bare |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for endpoint in dict.fromkeys(r["endpoint"] for r in rows):
        for concurrency in sorted({r["concurrency"] for r in rows if r["endpoint"] == endpoint}):
            pair = {r["target"]: r for r in rows if r["endpoint"] == endpoint and r["concurrency"] == concurrency}
            aos, bare = pair.get("aos serve"), pair.get("bare FastAPI")
            if aos is None or bare is None:
                continue
            aos_cells = f"{_fmt(aos['median'])} | {_fmt(aos['p50_ms'])} | {_fmt(aos['p99_ms'])}"
            bare_cells = f"{_fmt(bare['median'])} | {_fmt(bare['p50_ms'])} | {_fmt(bare['p99_ms'])}"
            share = f"{aos['median'] / bare['median'] * 100:.0f}%"
            lines.append(f"| `{endpoint}` | {concurrency} | {aos_cells} | {bare_cells} | {share} |")
    return lines


def targets(cases: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of issue 21, then each target of issue 6 that still applies, with what was measured
    (measured None when its case did not run)."""
    out: list[dict[str, Any]] = []

    def add(
        ident: str,
        case: str,
        group: str,
        text: str,
        stats: tuple[float, ...] | None,
        limit: float,
        kind: str,
        unit: str,
        how: str,
    ) -> None:
        measured = None if stats is None else stats[0]
        lo, hi = (stats[1], stats[2]) if stats is not None and len(stats) == 3 else (None, None)
        met = None if measured is None else (measured <= limit if kind == "max" else measured >= limit)
        if measured is None:
            gap = ""
        elif limit == 0:
            gap = "" if met else f"{measured:.0f} over"
        elif kind == "max":
            gap = (
                f"{(1 - measured / limit) * 100:.0f}% headroom" if met else f"{(measured / limit - 1) * 100:.0f}% over"
            )
        else:
            gap = (
                f"{(measured / limit - 1) * 100:.0f}% headroom"
                if met
                else f"{(1 - measured / limit) * 100:.0f}% short (needs {limit / measured:.2f}x)"
            )
        out.append(
            {
                "id": ident,
                "case": case,
                "group": group,
                "target": text,
                "measured": measured,
                "lo": lo,
                "hi": hi,
                "limit": limit,
                "kind": kind,
                "unit": unit,
                "met": met,
                "gap": gap,
                "how": how,
            }
        )

    def plain(r: Row | None) -> tuple[float, ...] | None:
        return None if r is None else (r["median"], r["min"], r["max"])

    def medians(case: str, key: str, sizes: list[int], fmt: Callable[[int], str]) -> str:
        found = [(n, find(cases, case, f"{key}@{n}")) for n in sizes]
        return " / ".join(f"{r['median']:.0f}" for _, r in found if r) + " at " + " / ".join(fmt(n) for n, _ in found)

    def thousands(n: int) -> str:
        return f"{n // 1000}k" if n >= 1000 else str(n)

    # Issue 21 ----------------------------------------------------------------------------------
    runs = cases.get("4", {})
    sizes: list[int] = runs.get("sizes", [])
    for variant, label in (("sqlite", "run"), ("replay", "replay")):
        got = [find(cases, "4", f"{variant}@{n}") for n in sizes]
        stats = None
        if sizes and all(got):
            rounds = min(len(r["samples"]) for r in got if r)
            flat = [
                max(r["samples"][i] for r in got if r) / min(r["samples"][i] for r in got if r) for i in range(rounds)
            ]
            stats = (statistics.median(flat), min(flat), max(flat))
        partial = "" if 100_000 in sizes else f" (this run: up to {thousands(max(sizes, default=0))} steps only)"
        add(
            f"runs-flat-{label}",
            "4",
            "21",
            f"durable {label} (SQLite): µs per step flat within 20% from 1k to 100k steps",
            stats,
            1.2,
            "max",
            "x",
            f"max / min of µs per step over the sizes, per round{partial}; µs per step "
            + medians("4", variant, sizes, thousands)
            + (f"; null store {medians('4', 'null', sizes, thousands)}" if variant == "sqlite" else ""),
        )
    sqlite10k, gather10k = find(cases, "4", "sqlite@10000"), find(cases, "4", "gather@10000")
    add(
        "run-10k-vs-gather",
        "4",
        "21",
        "10k-step run (SQLite) <= 1.5x gather(aexecute) with 64 in flight",
        ratio_stats(cases, "4", sqlite10k, gather10k),
        1.5,
        "max",
        "x",
        "Runtime.run (SQLite) / gather(aexecute), 64 in flight, 10k steps, per round"
        + (f" ({sqlite10k['median']:.0f} / {gather10k['median']:.0f} µs per step)" if sqlite10k and gather10k else ""),
    )
    peak_sizes = sorted({r["steps"] for r in cases.get("6", {}).get("rows", []) if r.get("steps", 0) > 1000})
    for command in ("run", "replay"):
        top = find(cases, "6", f"{command}@100000")
        rows = [find(cases, "6", f"{command}@{n}") for n in peak_sizes]
        add(
            f"peak-{command}-100k",
            "6",
            "21",
            f"peak memory of aos {command} {'PLAN' if command == 'run' else 'RUN'}, 100k steps <= 100 MiB",
            plain(top),
            100,
            "max",
            "MiB",
            "ru_maxrss of the process, median of the rounds; "
            + "; ".join(
                f"{thousands(r['steps'])}: {r['median']:.0f} MiB, {statistics.median(r['kib_per_step']):.1f} KiB/step"
                for r in rows
                if r and r.get("kib_per_step")
            ),
        )
    aos64, aio64 = find(cases, "3", "aos@64"), find(cases, "3", "aiohttp@64")
    aos1, aio1 = find(cases, "3", "aos@1"), find(cases, "3", "aiohttp@1")
    at1 = ratio_stats(cases, "3", aos1, aio1)
    add(
        "http-64-vs-aiohttp",
        "3",
        "21",
        "http_call at 64 in flight >= 0.80x raw aiohttp, same server",
        ratio_stats(cases, "3", aos64, aio64),
        0.8,
        "min",
        "x",
        "http_call / aiohttp (req/s), per round" + (f"; at 1 in flight {_ratio(at1[0])}" if at1 else ""),
    )
    exec0, exec300 = find(cases, "7", "exec@0"), find(cases, "7", "exec@300")
    at100 = ratio_stats(cases, "7", find(cases, "7", "exec@100"), exec0)
    add(
        "exec-300-plugins",
        "7",
        "21",
        "aos exec json_transform with 300 plugins installed <= 1.2x with none",
        ratio_stats(cases, "7", exec300, exec0),
        1.2,
        "max",
        "x",
        "300 dummy plugins / none, per round"
        + (f"; 100 / none {_ratio(at100[0])}" if at100 else "")
        + (f"; {exec0['median']:.0f} ms with none" if exec0 else ""),
    )
    build = find(cases, "8", "skills@1000")
    add(
        "runtime-1000-skills",
        "8",
        "21",
        "building a Runtime with 1,000 skills <= 60 ms",
        plain(build),
        60,
        "max",
        "ms",
        "a fresh process per figure, median of the rounds; " + medians("8", "skills", [1, 100, 1000], str) + " skills",
    )
    counts: list[int] = cases.get("7", {}).get("counts", [])
    per_count = {
        n: paired(cases, "7", find(cases, "7", f"skills-nocache@{n}"), find(cases, "7", f"mincli-pydantic@{n}"))
        for n in counts
    }
    stats = None
    if counts and all(per_count.values()):
        rounds = min(len(v or []) for v in per_count.values())
        worst = [max((v or [])[i] for v in per_count.values()) for i in range(rounds)]
        stats = (statistics.median(worst), min(worst), max(worst))
    add(
        "discovery-no-cache",
        "7",
        "21",
        "discovery with the cache off <= 1.3x the bare mechanism (mincli.py --pydantic), 0/100/300 plugins",
        stats,
        1.3,
        "max",
        "x",
        "AOS_NO_CACHE=1 aos skills --json / mincli.py list --json --pydantic with as many plugins, the worst count "
        "per round; " + "; ".join(f"{n}: {_ratio(statistics.median(v))}" for n, v in per_count.items() if v),
    )
    execute, inline = find(cases, "1", "execute"), find(cases, "1", "pai-inline")
    vs_async = ratio_stats(cases, "1", execute, find(cases, "1", "pai-async"))
    add(
        "execute-vs-pydantic-ai",
        "1",
        "21",
        "Runtime.execute (limited contract) no slower than pydantic-ai's inline tool dispatch",
        ratio_stats(cases, "1", execute, inline),
        1.0,
        "max",
        "x",
        "execute / (validate + FunctionToolset.call_tool, sync tool inline), per round"
        + (f" ({execute['median']:.1f} / {inline['median']:.1f} µs)" if execute and inline else "")
        + (f"; / the async tool dispatch {_ratio(vs_async[0])}" if vs_async else ""),
    )

    # Issue 6, still applying ---------------------------------------------------------------------
    base = find(cases, "1", "validate")
    add(
        "execute-vs-validate",
        "1",
        "6",
        "execute <= 10x model_validate + call",
        ratio_stats(cases, "1", execute, base),
        10,
        "max",
        "x",
        "execute / (model_validate + call), per round",
    )
    add(
        "execute-vs-langchain",
        "1",
        "6",
        ">= 15x faster than langchain-core tool.invoke",
        ratio_stats(cases, "1", find(cases, "1", "langchain"), execute),
        15,
        "min",
        "x",
        "invoke / execute, per round",
    )
    add(
        "execute-vs-handle-call",
        "1",
        "6",
        ">= 15x faster than pydantic-ai's handle_call of a sync tool (its default: a thread)",
        ratio_stats(cases, "1", find(cases, "1", "pai-handle-thread"), execute),
        15,
        "min",
        "x",
        "handle_call / execute, per round",
    )

    def cold(key: str) -> Row | None:
        return find(cases, "2", key)

    add(
        "help-vs-mincli",
        "2",
        "6",
        "aos --help <= 1.2x mincli.py list --json",
        ratio_stats(cases, "2", cold("help@0"), cold("mincli@0")),
        1.2,
        "max",
        "x",
        "wall time, per round",
    )
    add(
        "skills-vs-mincli",
        "2",
        "6",
        "aos skills --json (discovery cache) <= 1.3x mincli.py list --json --pydantic",
        ratio_stats(cases, "2", cold("skills@0"), cold("mincli-pydantic@0")),
        1.3,
        "max",
        "x",
        "wall time, per round",
    )
    add(
        "help-vs-llm",
        "2",
        "6",
        "aos --help >= 5x faster than llm plugins",
        ratio_stats(cases, "2", cold("llm@0"), cold("help@0")),
        5,
        "min",
        "x",
        "llm plugins / aos --help, per round",
    )
    add(
        "skills-vs-llm",
        "2",
        "6",
        "aos skills --json >= 5x faster than llm plugins",
        ratio_stats(cases, "2", cold("llm@0"), cold("skills@0")),
        5,
        "min",
        "x",
        "llm plugins / aos skills --json, per round",
    )
    add(
        "skills-100-plugins",
        "2",
        "6",
        "100 extra plugins cost < 1.5x (aos skills --json, discovery cache)",
        ratio_stats(cases, "2", cold("skills@100"), cold("skills@0")),
        1.5,
        "max",
        "x",
        "100 dummies / none, per round",
    )
    add(
        "skills-100-plugins-no-cache",
        "7",
        "6",
        "100 extra plugins cost < 1.5x, discovery cache off",
        ratio_stats(cases, "7", find(cases, "7", "skills-nocache@100"), find(cases, "7", "skills-nocache@0")),
        1.5,
        "max",
        "x",
        "100 dummies / none, AOS_NO_CACHE=1, per round (case 7)",
    )
    heavy = cases.get("2", {}).get("heavy_imports")
    add(
        "no-heavy-imports",
        "2",
        "6",
        "anthropic, httpx... not imported by aos --help / aos skills --json",
        None if heavy is None else (float(sum(len(v) for v in heavy.values())),),
        0,
        "max",
        "n",
        "heavy modules imported: "
        + ("; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in heavy.items()) if heavy else "?"),
    )
    null10k, replay10k = find(cases, "4", "null@10000"), find(cases, "4", "replay@10000")
    add(
        "run-10k-vs-null",
        "4",
        "6",
        "10k-step run: the durable trace <= 2x the same run with a null store",
        ratio_stats(cases, "4", sqlite10k, null10k),
        2,
        "max",
        "x",
        "Runtime.run (SQLite) / Runtime.run (null store), 10k steps, per round",
    )
    add(
        "replay-vs-run",
        "4",
        "6",
        "replay faster than the run (10k steps)",
        ratio_stats(cases, "4", replay10k, sqlite10k),
        1,
        "max",
        "x",
        "replay / run (SQLite), 10k steps, per round",
    )
    simulate, loop = find(cases, "5", "simulate"), find(cases, "5", "loop")
    add(
        "simulate-1k",
        "5",
        "6",
        "simulate of 1,000 steps under 50 ms",
        plain(simulate),
        50,
        "max",
        "ms",
        "median ms" + (f"; {_ratio(simulate['median'] / loop['median'])} an execute loop" if simulate and loop else ""),
    )
    # Issue 17 ----------------------------------------------------------------------------------
    metrics_on, off = find(cases, "9", "execute-metrics"), find(cases, "9", "execute-off")
    add(
        "metrics-overhead",
        "9",
        "17",
        "metrics on cost under 15% for a trivial skill (`Runtime.execute`)",
        ratio_stats(cases, "9", metrics_on, off),
        1.15,
        "max",
        "x",
        "Runtime.execute with metrics on / off, per round",
    )
    return out


# -- history ------------------------------------------------------------------------------------


def read_history() -> list[dict[str, Any]]:
    if not HISTORY.exists():
        return []
    return [json.loads(line) for line in HISTORY.read_text().splitlines() if line.strip()]


def _round(value: float | None) -> float | None:
    """Four significant digits: the history stays small and readable."""
    return None if value is None else float(f"{value:.4g}")


def append_history(info: dict[str, Any], found: list[dict[str, Any]]) -> None:
    entry = {
        "date": info["date"],
        "commit": info["commit"],
        "load": [info["load_before"], info["load_after"]],
        "targets": {
            t["id"]: {"measured": _round(t["measured"]), "lo": _round(t["lo"]), "hi": _round(t["hi"]), "met": t["met"]}
            for t in found
            if t["measured"] is not None
        },
    }
    with HISTORY.open("a") as out:
        out.write(json.dumps(entry, separators=(",", ":")) + "\n")


def held_in(found: list[dict[str, Any]], until: str | None) -> None:
    """Set each target's `held`: [K, N], met in K of the last N full runs (up to `until`, a date)."""
    history = [h for h in read_history() if until is None or h["date"] <= until]
    for t in found:
        results = [h["targets"][t["id"]]["met"] for h in history if t["id"] in h["targets"]]
        results = [m for m in results if m is not None][-HISTORY_WINDOW:]
        t["held"] = [sum(1 for m in results if m), len(results)]


# -- the report ---------------------------------------------------------------------------------


def table(rows: list[Row], ref: Row | None, ratio_label: str, cases: dict[str, Any], case: str) -> list[str]:
    unit = rows[0]["unit"] if rows else ""
    lines = [f"| variant | median ({unit}) | min-max | {ratio_label} |", "|---|---:|---:|---:|"]
    for r in rows:
        shown = ""
        if ref is not None:
            stats = ratio_stats(cases, case, r, ref)
            shown = "1.00x (ref)" if r is ref else (_ratio(stats[0]) if stats else "")
        lines.append(f"| {r['name']} | {_fmt(r['median'])} | {_fmt(r['min'])}-{_fmt(r['max'])} | {shown} |")
    return lines


def _shown(t: dict[str, Any], value: float | None) -> str:
    if value is None:
        return ""
    unit = t["unit"]
    if unit == "x":
        return _ratio(value)
    if unit == "n":
        return f"{value:.0f}"
    return f"{value:.1f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def targets_table(found: list[dict[str, Any]], group: str) -> list[str]:
    lines = ["| target | measured | spread | met | gap | held in | how |", "|---|---:|---:|---|---|---|---|"]
    for t in found:
        if t["group"] != group:
            continue
        if t["measured"] is None:
            lines.append(f"| {t['target']} | not measured |  |  |  |  | case {t['case']} did not run |")
            continue
        spread = ""
        if t["lo"] is not None:
            lo = _ratio(t["lo"]) if t["unit"] == "x" else _shown(t, t["lo"]).split(" ")[0]
            spread = f"{lo}-{_shown(t, t['hi'])}"
        k, n = t.get("held") or (0, 0)
        held = f"{k} of last {n}" if n else "-"
        met = "yes" if t["met"] else "NO"
        lines.append(
            f"| {t['target']} | {_shown(t, t['measured'])} | {spread} | {met} | {t['gap']} | {held} | {t['how']} |"
        )
    return lines


def matrix(rows: list[Row], sizes: list[int], label: Callable[[Row], str], column: Callable[[int], str]) -> list[str]:
    """A table of medians (min-max): one line per label, one column per size."""
    labels: dict[str, dict[int, Row]] = {}
    for r in rows:
        labels.setdefault(label(r), {})[r.get("steps", r.get("plugins", 0))] = r
    lines = ["| | " + " | ".join(column(n) for n in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    for name, by_size in labels.items():
        cells = [
            f"{_fmt(by_size[n]['median'])} ({_fmt(by_size[n]['min'])}-{_fmt(by_size[n]['max'])})"
            if n in by_size
            else ""
            for n in sizes
        ]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def section_runs(cases: dict[str, dict[str, Any]]) -> list[str]:
    data = cases["4"]
    sizes: list[int] = data.get("sizes", [])
    rows = data["rows"]
    lines = ["µs per step, median (min-max) of the rounds:", ""]
    lines += matrix(rows, sizes, lambda r: r["name"].split(" [")[0], lambda n: f"{n:,} steps")
    lines += ["", "Ratios, median of the per-round ratios:", ""]
    lines += ["| | " + " | ".join(f"{n:,}" for n in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    for a, b, what in (
        ("sqlite", "gather", "run (SQLite) / gather(aexecute)"),
        ("sqlite", "null", "run (SQLite) / run (null store)"),
        ("null", "gather", "run (null store) / gather(aexecute)"),
        ("replay", "sqlite", "replay / run (SQLite)"),
    ):
        cells = []
        for n in sizes:
            stats = ratio_stats(cases, "4", find(cases, "4", f"{a}@{n}"), find(cases, "4", f"{b}@{n}"))
            cells.append(_ratio(stats[0]) if stats else "")
        lines.append(f"| {what} | " + " | ".join(cells) + " |")
    lines += ["", "Peak RSS of each figure's process, MiB, median of the rounds (RSS just before the timed calls):", ""]
    lines += ["| | " + " | ".join(f"{n:,}" for n in sizes) + " |", "|---|" + "---:|" * len(sizes)]
    names = {r["variant"]: r["name"].split(" [")[0] for r in rows}
    for variant, name in names.items():
        cells = []
        for n in sizes:
            r = find(cases, "4", f"{variant}@{n}")
            cells.append(
                f"{statistics.median(r['peak_mib']):.0f} ({statistics.median(r['before_mib']):.0f})" if r else ""
            )
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def section_peak(cases: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| command | peak RSS (MiB) | min-max | KiB per step | wall (s) |", "|---|---:|---:|---:|---:|"]
    for r in cases["6"]["rows"]:
        per_step = f"{statistics.median(r['kib_per_step']):.1f}" if r.get("kib_per_step") else ""
        lines.append(
            f"| {r['name']} | {r['median']:.0f} | {r['min']:.0f}-{r['max']:.0f} | {per_step} | "
            f"{statistics.median(r['seconds']):.1f} |"
        )
    return lines


def section_plugins(cases: dict[str, dict[str, Any]]) -> list[str]:
    data = cases["7"]
    counts: list[int] = data.get("counts", [])
    rows = data["rows"]
    lines = ["ms per process, median (min-max):", ""]
    lines += matrix(rows, counts, lambda r: r["name"].split(" [")[0], lambda n: f"{n} plugins")
    lines += ["", "Ratios, median of the per-round ratios:", ""]
    lines += ["| | " + " | ".join(f"{n} plugins" for n in counts) + " |", "|---|" + "---:|" * len(counts)]
    for key, what in (("exec", "aos exec json_transform"), ("skills-nocache", "aos skills --json, cache off")):
        cells = []
        for n in counts:
            stats = ratio_stats(cases, "7", find(cases, "7", f"{key}@{n}"), find(cases, "7", f"{key}@{counts[0]}"))
            cells.append(_ratio(stats[0]) if stats else "")
        lines.append(f"| {what} / itself with {counts[0]} | " + " | ".join(cells) + " |")
    for key, what in (("skills-nocache", "aos skills --json, cache off"), ("exec", "aos exec json_transform")):
        cells = []
        for n in counts:
            stats = ratio_stats(cases, "7", find(cases, "7", f"{key}@{n}"), find(cases, "7", f"mincli-pydantic@{n}"))
            cells.append(_ratio(stats[0]) if stats else "")
        lines.append(f"| {what} / mincli.py --pydantic, same count | " + " | ".join(cells) + " |")
    cells = []
    for n in counts:
        stats = ratio_stats(cases, "7", find(cases, "7", f"skills-nocache@{n}"), find(cases, "7", f"mincli-models@{n}"))
        cells.append(_ratio(stats[0]) if stats else "")
    if any(cells):  # a diagnostic, not a target: the yardstick with the models each dummy plugin defines
        what = "aos skills --json, cache off / mincli.py --pydantic --models (diagnostic)"
        lines.append(f"| {what} | " + " | ".join(cells) + " |")
    return lines


def section_skills(cases: dict[str, dict[str, Any]]) -> list[str]:
    rows = cases["8"]["rows"]
    first = rows[0] if rows else None
    lines = ["| skills | median (ms) | min-max | µs per skill above the first |", "|---|---:|---:|---:|"]
    for r in rows:
        per = ""
        if first is not None and r is not first:
            per = f"{(r['median'] - first['median']) / (r['skills'] - first['skills']) * 1000:.0f}"
        lines.append(f"| {r['skills']:,} | {_fmt(r['median'])} | {_fmt(r['min'])}-{_fmt(r['max'])} | {per} |")
    return lines


def report(cases: dict[str, dict[str, Any]], info: dict[str, Any], mode: str, found: list[dict[str, Any]]) -> str:
    lines = [f"# AOS benchmark results ({mode})", ""]
    lines.append(
        f"{info.get('date', '(date not recorded)')}; {info['cpu']}, {info['cores']} cores; "
        f"Python {info['python']}; SQLite {info['sqlite']}; {info['os']}; commit {info['commit']}; "
        f"load average before/after: {info.get('load_before', '?')} / {info.get('load_after', '?')}."
    )
    if info.get("tree_after") and info.get("tree") != info.get("tree_after"):
        lines += [
            "",
            f"**The code changed during this run** ({info['tree']} -> {info['tree_after']}): do not quote it.",
        ]
    if info.get("history"):
        lines += ["", f"History: {info['history']}."]
    lines.append("")
    lines.append("Packages: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v) + ".")
    lines += ["", "## Targets (issue 21)", ""]
    lines += targets_table(found, "21")
    lines += ["", "## Targets of issue 6 that still apply", ""]
    lines += targets_table(found, "6")
    lines += ["", "## Targets (issue 17)", ""]
    lines += targets_table(found, "17")
    for case, title in CASES.items():
        data = cases.get(case)
        if not data:
            continue
        lines += ["", f"## {case}. {title}", ""]
        if data.get("failed"):
            lines += [f"**Failed**: {data['failed']}"]
            continue
        try:
            lines += section(cases, case)
        except (KeyError, TypeError, IndexError) as exc:  # a saved run from an older harness
            lines += [f"(rows in a format this report does not read: {type(exc).__name__}: {exc})"]
        lines += [""] + [f"- {note}" for note in data.get("notes", [])]
    return "\n".join(lines) + "\n"


def section(cases: dict[str, dict[str, Any]], case: str) -> list[str]:
    """The tables of one case."""
    lines: list[str] = []
    rows = cases[case]["rows"]
    if case == "3":
        for concurrency in sorted({r["concurrency"] for r in rows}):
            group = [r for r in rows if r["concurrency"] == concurrency]
            ref = find(cases, "3", f"aiohttp@{concurrency}")
            lines += table(group, ref, "x raw aiohttp, per round", cases, case)
            lines.append("")
    elif case == "4":
        lines += section_runs(cases)
    elif case == "6":
        lines += section_peak(cases)
    elif case == "7":
        lines += section_plugins(cases)
    elif case == "8":
        lines += section_skills(cases)
    elif case == "9":
        for unit in dict.fromkeys(r["unit"] for r in rows):
            group = [r for r in rows if r["unit"] == unit]
            off = next((r for r in group if r.get("key", "").endswith("-off")), None)
            lines += table(group, off, "x off, per round", cases, case)
            lines.append("")
    elif case == "10":
        lines += server_table(rows)
    elif case == "11":
        for unit in dict.fromkeys(r["unit"] for r in rows):
            lines += table([r for r in rows if r["unit"] == unit], None, "", cases, case)
            lines.append("")
    else:
        ref_key = {"1": "validate", "2": "mincli@0", "5": "loop"}[case]
        label = "x ref, per round" if cases[case].get("paired") else "x ref"
        lines += table(rows, find(cases, case, ref_key), label, cases, case)
    return lines


def update_docs(text: str) -> None:
    doc = DOCS.read_text()
    if DOCS_START not in doc or DOCS_END not in doc:
        raise SystemExit(f"{DOCS} lacks the markers {DOCS_START} / {DOCS_END}")
    head, rest = doc.split(DOCS_START, 1)
    _, tail = rest.split(DOCS_END, 1)
    body = text.split("\n", 2)[2].replace("\n## ", "\n### ")  # drop the title; sections one level down
    DOCS.write_text(f"{head}{DOCS_START}\n{body}{DOCS_END}{tail}")


def write_report(
    cases: dict[str, dict[str, Any]],
    info: dict[str, Any],
    mode: str,
    found: list[dict[str, Any]],
    name: str,
    docs: bool,
) -> None:
    text = report(cases, info, mode, found)
    (RESULTS / f"{name}.md").write_text(text)
    print()
    print(text)
    if docs:
        update_docs(text)
        print(f"updated {DOCS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds; runs up to 50k steps")
    parser.add_argument("--cases", default=",".join(CASES), help="comma-separated case numbers; empty for none")
    parser.add_argument("--hyperfine", action="store_true", help="time cold starts with hyperfine (when installed)")
    parser.add_argument("--profile", action="store_true", help="also profile the AOS side (bench/results/profiles/)")
    parser.add_argument("--update-docs", action="store_true", help="write the results into docs/performance.md")
    parser.add_argument("--report", metavar="JSON", help="only re-render the report of a saved results file")
    parser.add_argument("--no-install", action="store_true", help="do not check or update the bench venv")
    args = parser.parse_args()

    python = ensure_venv(install=not args.no_install)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execve(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:], "--no-install"], os.environ)

    RESULTS.mkdir(exist_ok=True)
    if args.report:
        saved = json.loads(Path(args.report).read_text())
        found = targets(saved["cases"])
        held_in(found, saved["machine"].get("date"))
        stored = {t["id"]: t.get("held") for t in saved.get("targets", []) if "id" in t}
        for t in found:  # the count written with the run, where there is one
            t["held"] = stored.get(t["id"]) or t["held"]
        write_report(saved["cases"], saved["machine"], saved["mode"], found, Path(args.report).stem, args.update_docs)
    else:
        info = machine(python)
        info["load_before"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        info["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        plan = case_plan(args.quick, args.hyperfine)
        wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
        unknown = [c for c in wanted if c not in plan]
        if unknown:
            raise SystemExit(f"unknown case(s) {', '.join(unknown)}; cases: {', '.join(plan)}")
        cases: dict[str, dict[str, Any]] = {}
        for case in wanted:
            started = time.perf_counter()
            print(f"case {case} ...", end=" ", flush=True)
            cases[case] = run_script(python, plan[case])
            failed = cases[case].get("failed")
            print(f"{time.perf_counter() - started:.0f} s" + (f" FAILED: {failed}" if failed else ""), flush=True)
        info["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        info["tree_after"] = tree_state()
        if cases:
            mode = "quick" if args.quick else "full"
            complete = set(wanted) == set(CASES) and not any(c.get("failed") for c in cases.values())
            name = "latest" if set(wanted) == set(CASES) else "latest-partial"
            found = targets(cases)
            unchanged = info["tree"] == info["tree_after"]
            if mode == "full" and complete and unchanged:
                append_history(info, found)
                info["history"] = f"this run is line {len(read_history())} of {HISTORY.relative_to(ROOT)}"
            else:
                why = [
                    w
                    for w, bad in (
                        ("a quick run", mode != "full"),
                        ("not every case ran, or one failed", not complete),
                        ("the code changed during the run", not unchanged),
                    )
                    if bad
                ]
                info["history"] = (
                    f"not added to {HISTORY.relative_to(ROOT)} ({'; '.join(why)}); "
                    "'held in' counts earlier full runs only"
                )
            held_in(found, None)
            (RESULTS / f"{name}.json").write_text(
                json.dumps({"mode": mode, "machine": info, "cases": cases, "targets": found}, indent=1) + "\n"
            )
            write_report(cases, info, mode, found, name, args.update_docs)
    if args.profile:
        subprocess.run([str(python), str(BENCH / "profile_aos.py")], cwd=BENCH, env=child_env(), check=True)


if __name__ == "__main__":
    main()
