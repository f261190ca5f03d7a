"""The benchmark harness: one command that installs, runs every case and prints the table.

    python3 bench/run.py                 # everything (about 5-8 minutes on a 2-core machine)
    python3 bench/run.py --quick         # fewer rounds (about 2-3 minutes)
    python3 bench/run.py --cases 1,3     # some: 1 execute, 2 cold start, 3 http, 4 runs, 5 simulate, 6 metrics, 7 serve
    python3 bench/run.py --profile       # also cProfile the AOS side of cases 1, 4 and 5 (and cold start)
    python3 bench/run.py --update-docs   # also write the table into docs/performance.md

It creates (or reuses) the virtual environment .bench-venv at the repository root, installs
aos-core and the three skill packages (editable) plus bench/requirements.txt (reinstalled when
one of those files changes), then re-runs itself inside it. Every case runs in its own process.
Results go to bench/results/latest.md and latest.json. Network traffic: 127.0.0.1 only.
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
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
VENV = ROOT / ".bench-venv"
RESULTS = BENCH / "results"
PACKAGES = (".", "./aos_skill_http", "./aos_skill_json", "./aos_skill_llm", "./aos_server")
DOCS = ROOT / "docs" / "performance.md"
DOCS_START, DOCS_END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"

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


def case_plan(quick: bool) -> dict[str, list[list[str]]]:
    """case number -> the scripts (with arguments) that produce it."""
    if quick:
        return {
            "1": [["case_execute.py", "--rounds", "5", "--batch-seconds", "0.03"]],
            "2": [["case_coldstart.py", "--runs", "8", "--warmup", "2"]],
            "3": [["case_http.py", "--rounds", "3", "--seconds", "0.5"]],
            "4": [["case_runs.py", "--only", "runs", "--rounds", "2"]],
            "5": [["case_runs.py", "--only", "simulate", "--simulate-rounds", "5"]],
            "6": [["case_observability.py", "--rounds", "5", "--batch-seconds", "0.03", "--run-rounds", "2"]],
            "7": [["case_server.py", "--rounds", "2", "--seconds", "1"]],
        }
    return {
        "1": [["case_execute.py", "--rounds", "15"]],
        "2": [["case_coldstart.py", "--runs", "20", "--warmup", "3"]],
        "3": [["case_http.py", "--rounds", "5", "--seconds", "1.0"]],
        "4": [["case_runs.py", "--only", "runs", "--rounds", "5"]],
        "5": [["case_runs.py", "--only", "simulate", "--simulate-rounds", "15"]],
        "6": [["case_observability.py", "--rounds", "15", "--run-rounds", "5"]],
        "7": [["case_server.py", "--rounds", "3", "--seconds", "2"]],
    }


def child_env() -> dict[str, str]:
    # Bytecode caching as on a user's machine (some sandboxes switch it off, which makes every
    # cold start recompile the sources it imports).
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_script(python: Path, argv: list[str]) -> list[dict[str, Any]]:
    result = subprocess.run(
        [str(python), str(BENCH / argv[0]), *argv[1:]],
        cwd=BENCH,
        env=child_env(),
        stdout=subprocess.PIPE,
        text=True,
        check=False,
        timeout=1800,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{argv[0]} exited {result.returncode}")
    return [json.loads(line) for line in result.stdout.splitlines() if line.strip()]


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
    except FileNotFoundError:  # not installed: cold starts fall back to subprocess timing
        hyperfine = subprocess.CompletedProcess(["hyperfine"], 127, "", "")
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--", ".", ":!bench", ":!docs/performance.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "os": f"{platform.system()} {platform.release()}",
        "hyperfine": hyperfine.stdout.strip() if hyperfine.returncode == 0 else None,
        "commit": commit.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else ""),
        **info,
    }


# -- the report --------------------------------------------------------------------------------


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float) -> str:
    return f"{value:.2f}x" if value < 10 else f"{value:.1f}x"


def find(cases: dict[str, dict[str, Any]], case: str, prefix: str) -> dict[str, Any] | None:
    for r in cases.get(case, {}).get("rows", []):
        if r["name"].startswith(prefix) or r.get("key") == prefix:
            return r
    return None


def table(rows: list[dict[str, Any]], ref: dict[str, Any] | None, ratio_label: str) -> list[str]:
    unit = rows[0]["unit"] if rows else ""
    lines = [f"| variant | median ({unit}) | min-max | {ratio_label} |", "|---|---:|---:|---:|"]
    for r in rows:
        ratio = "" if ref is None else _ratio(r["median"] / ref["median"])
        if ref is not None and r is ref:
            ratio = "1.00x (ref)"
        lines.append(f"| {r['name']} | {_fmt(r['median'])} | {_fmt(r['min'])}-{_fmt(r['max'])} | {ratio} |")
    return lines


def server_table(rows: list[dict[str, Any]]) -> list[str]:
    """Case 6: each endpoint and concurrency, aos serve beside the bare app."""
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
    """Each target of issue 6 with what was measured (None when its case did not run)."""
    out: list[dict[str, Any]] = []

    def add(text: str, measured: float | None, limit: float, kind: str, how: str) -> None:
        met = None if measured is None else (measured <= limit if kind == "max" else measured >= limit)
        if measured is None:
            gap = ""
        elif limit == 0:
            gap = "" if met else f"{measured:.0f} over"
        elif kind == "max":
            gap = (
                f"{(measured / limit - 1) * 100:.0f}% over"
                if not met
                else f"{(1 - measured / limit) * 100:.0f}% headroom"
            )
        else:
            short = f"{(1 - measured / limit) * 100:.0f}% short (needs {limit / measured:.2f}x)"
            gap = short if not met else f"{(measured / limit - 1) * 100:.0f}% headroom"
        out.append(
            {"target": text, "measured": measured, "limit": limit, "kind": kind, "met": met, "gap": gap, "how": how}
        )

    def ratio(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
        return None if a is None or b is None else a["median"] / b["median"]

    def paired(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
        """Median of the per-round ratios: cases 1 and 4 measure every variant once per round, back to back,
        so a round's ratio compares figures taken in the same seconds (this VM switches between a fast
        and a slow state for seconds at a time, and a ratio of medians can pair figures across states)."""
        if a is None or b is None:
            return None
        return statistics.median(x / y for x, y in zip(a["samples"], b["samples"], strict=True))

    def both(a: dict[str, Any] | None, b: dict[str, Any] | None, what: str) -> str:
        plain = ratio(a, b)
        return f"{what}, median of per-round ratios" + ("" if plain is None else f" (ratio of medians {plain:.2f}x)")

    execute = find(cases, "1", "AOS Runtime.execute")
    base = find(cases, "1", "model_validate + call")
    add(
        "execute <= 10x model_validate + call",
        paired(execute, base),
        10,
        "max",
        both(execute, base, "execute / (model_validate + call)"),
    )
    langchain = find(cases, "1", "langchain-core")
    add(
        ">= 15x faster than langchain-core tool.invoke",
        paired(langchain, execute),
        15,
        "min",
        both(langchain, execute, "invoke / execute"),
    )
    pydantic_ai = find(cases, "1", "pydantic-ai ToolManager.handle_call (sync tool, default")
    add(
        ">= 15x faster than pydantic-ai dispatch of a sync tool",
        paired(pydantic_ai, execute),
        15,
        "min",
        both(pydantic_ai, execute, "handle_call / execute"),
    )

    def cold(name: str) -> dict[str, Any] | None:
        return find(cases, "2", name)

    add(
        "aos --help <= 1.2x mincli.py list --json",
        ratio(cold("aos --help [0"), cold("mincli.py list --json [0")),
        1.2,
        "max",
        "wall time ratio",
    )
    add(
        "aos skills --json <= 1.3x mincli.py list --json --pydantic",
        ratio(cold("aos skills --json [0"), cold("mincli.py list --json --pydantic [0")),
        1.3,
        "max",
        "wall time ratio",
    )
    add(
        "aos --help >= 5x faster than llm plugins",
        ratio(cold("llm plugins"), cold("aos --help [0")),
        5,
        "min",
        "llm plugins / aos --help",
    )
    add(
        "aos skills --json >= 5x faster than llm plugins",
        ratio(cold("llm plugins"), cold("aos skills --json [0")),
        5,
        "min",
        "llm plugins / aos skills --json",
    )
    add(
        "aos skills --json <= 1.3x mincli --pydantic, discovery cache off",
        ratio(cold("aos skills --json, discovery cache off [0"), cold("mincli.py list --json --pydantic [0")),
        1.3,
        "max",
        "wall time ratio, AOS_NO_CACHE=1 (first run after a change)",
    )
    add(
        "100 extra plugins cost < 1.5x (aos skills --json)",
        ratio(cold("aos skills --json [100"), cold("aos skills --json [0")),
        1.5,
        "max",
        "100 dummies / none",
    )
    add(
        "100 extra plugins cost < 1.5x, discovery cache off",
        ratio(cold("aos skills --json, discovery cache off [100"), cold("aos skills --json, discovery cache off [0")),
        1.5,
        "max",
        "100 dummies / none, AOS_NO_CACHE=1",
    )
    heavy = cases.get("2", {}).get("heavy_imports")
    if heavy is not None:
        count = float(sum(len(v) for v in heavy.values()))
        add(
            "anthropic, httpx not imported by aos --help / aos skills --json",
            count,
            0,
            "max",
            "heavy modules imported: " + ("; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in heavy.items())),
        )

    http = cases.get("3", {}).get("rows", [])
    raw64 = [r for r in http if r.get("concurrency") == 64 and r.get("client") in ("httpx", "httpx2", "aiohttp")]
    aos64 = next((r for r in http if r.get("concurrency") == 64 and r.get("client") == "aos"), None)
    fastest = max(raw64, key=lambda r: r["median"]) if raw64 else None
    add(
        "http_call at c=64 >= 80% of the fastest raw client",
        None if aos64 is None or fastest is None else aos64["median"] / fastest["median"],
        0.8,
        "min",
        f"http_call / {fastest['client'] if fastest else '?'} (req/s)",
    )

    durable, gathered = find(cases, "4", "sqlite"), find(cases, "4", "gather")
    add(
        "10,000-step run with durable trace <= 2x the same steps without persistence",
        paired(durable, gathered),
        2,
        "max",
        both(durable, gathered, "Runtime.run (SQLite) / gather(aexecute), 64 in flight"),
    )
    add(
        "(same, against the engine with a null store)",
        paired(find(cases, "4", "sqlite"), find(cases, "4", "null")),
        2,
        "max",
        both(find(cases, "4", "sqlite"), find(cases, "4", "null"), "Runtime.run (SQLite) / Runtime.run (null store)"),
    )
    add(
        "replay faster than the run",
        paired(find(cases, "4", "replay"), find(cases, "4", "sqlite")),
        1,
        "max",
        both(find(cases, "4", "replay"), find(cases, "4", "sqlite"), "replay / run (SQLite)"),
    )
    simulate, loop, run = find(cases, "5", "simulate"), find(cases, "5", "loop"), find(cases, "5", "sqlite")
    shares = [
        f"{_ratio(simulate['median'] / r['median'])} of {what}"
        for r, what in ((loop, "an execute loop"), (run, "Runtime.run"))
        if simulate and r
    ]
    add(
        "simulate of 1,000 steps under 50 ms",
        simulate["median"] if simulate else None,
        50,
        "max",
        "median ms; " + ", ".join(shares),
    )
    metrics_on, off = find(cases, "6", "execute-metrics"), find(cases, "6", "execute-off")
    add(
        "metrics on cost < 15% for a trivial skill (execute)",
        None if metrics_on is None else paired(metrics_on, off) - 1,
        0.15,
        "max",
        both(metrics_on, off, "Runtime.execute metrics on / off") + " (the overhead, as a fraction)",
    )
    return out


def report(cases: dict[str, dict[str, Any]], info: dict[str, Any], mode: str) -> str:
    lines = [f"# AOS benchmark results ({mode})", ""]
    lines.append(
        f"{info.get('date', '(date not recorded)')}; {info['cpu']}, {info['cores']} cores; "
        f"Python {info['python']}; SQLite {info['sqlite']}; {info['os']}; commit {info['commit']}; "
        f"load average before/after: {info.get('load_before', '?')} / {info.get('load_after', '?')}."
    )
    lines.append("")
    lines.append("Packages: " + ", ".join(f"{k} {v}" for k, v in info["packages"].items() if v) + ".")
    sections = [
        (
            "1",
            "1. `Runtime.execute` of a trivial sync skill (µs per call, lower is better)",
            "model_validate + call",
            "x ref",
        ),
        ("2", "2. Cold start (ms per process, lower is better)", "mincli.py list --json [0", "x ref"),
        (
            "3",
            "3. `http_call` against raw clients, same local server (requests/s, higher is better)",
            None,
            "of fastest raw client at this concurrency",
        ),
        ("4", "4. Run engine, 10,000 trivial steps (ms per run, lower is better)", "gather", "x ref"),
        ("5", "5. `simulate()` of 1,000 steps (ms, lower is better)", "loop", "x ref"),
        ("6", "6. Observability on against off (µs per execute, ms per 10,000-step run; lower is better)", "", ""),
        ("7", "7. `aos serve` under load, beside a bare FastAPI app (requests/s, higher is better)", None, ""),
    ]
    for case, title, ref_name, ratio_label in sections:
        data = cases.get(case)
        if not data:
            continue
        lines += ["", f"## {title}", ""]
        rows = data["rows"]
        if case == "7":
            lines += server_table(rows)
        elif case == "3":
            for concurrency in sorted({r["concurrency"] for r in rows}):
                group = [r for r in rows if r["concurrency"] == concurrency]
                raw = [r for r in group if r["client"] in ("httpx", "httpx2", "aiohttp")]
                ref = max(raw, key=lambda r: r["median"]) if raw else None
                lines += table(group, ref, ratio_label)
                lines.append("")
        elif case == "6":
            for unit in dict.fromkeys(r["unit"] for r in rows):
                group = [r for r in rows if r["unit"] == unit]
                lines += table(group, next((r for r in group if r.get("key", "").endswith("-off")), None), "x off")
                lines.append("")
        else:
            lines += table(rows, find(cases, case, ref_name) if ref_name else None, ratio_label)
        lines += [""] + [f"- {note}" for note in data.get("notes", [])]
    lines += ["", "## Targets (issues 6 and 17)", ""]
    lines += ["| target | measured | met | gap | how |", "|---|---:|---|---|---|"]
    for t in targets(cases):
        if t["measured"] is None:
            continue
        shown = (
            f"{t['measured']:.1f} ms"
            if "50 ms" in t["target"]
            else (
                f"{t['measured'] * 100:.0f}%"
                if "80%" in t["target"] or "15%" in t["target"]
                else (f"{t['measured']:.0f}" if "imported" in t["target"] else _ratio(t["measured"]))
            )
        )
        lines.append(f"| {t['target']} | {shown} | {'yes' if t['met'] else 'NO'} | {t['gap']} | {t['how']} |")
    return "\n".join(lines) + "\n"


def update_docs(text: str) -> None:
    doc = DOCS.read_text()
    if DOCS_START not in doc or DOCS_END not in doc:
        raise SystemExit(f"{DOCS} lacks the markers {DOCS_START} / {DOCS_END}")
    head, rest = doc.split(DOCS_START, 1)
    _, tail = rest.split(DOCS_END, 1)
    body = text.split("\n", 2)[2].replace("\n## ", "\n### ")  # drop the title; sections one level down
    DOCS.write_text(f"{head}{DOCS_START}\n{body}{DOCS_END}{tail}")


def write_report(cases: dict[str, dict[str, Any]], info: dict[str, Any], mode: str, name: str, docs: bool) -> None:
    text = report(cases, info, mode)
    (RESULTS / f"{name}.md").write_text(text)
    print()
    print(text)
    if docs:
        update_docs(text)
        print(f"updated {DOCS.relative_to(ROOT)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--cases", default="1,2,3,4,5,6,7", help="comma-separated case numbers; empty for none")
    parser.add_argument("--profile", action="store_true", help="also profile the AOS side (bench/results/profiles/)")
    parser.add_argument("--update-docs", action="store_true", help="write the table into docs/performance.md")
    parser.add_argument("--report", metavar="JSON", help="only re-render the report of a saved results file")
    parser.add_argument("--no-install", action="store_true", help="do not check or update the bench venv")
    args = parser.parse_args()

    python = ensure_venv(install=not args.no_install)
    if Path(sys.prefix).resolve() != VENV.resolve():
        os.execve(str(python), [str(python), str(Path(__file__).resolve()), *sys.argv[1:], "--no-install"], os.environ)

    if args.report:
        saved = json.loads(Path(args.report).read_text())
        write_report(saved["cases"], saved["machine"], saved["mode"], Path(args.report).stem, args.update_docs)
    else:
        info = machine(python)
        info["load_before"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        info["date"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        plan = case_plan(args.quick)
        wanted = [c.strip() for c in args.cases.split(",") if c.strip()]
        cases: dict[str, dict[str, Any]] = {}
        for case in wanted:
            started = time.perf_counter()
            print(f"case {case} ...", end=" ", flush=True)
            for argv in plan[case]:
                for doc in run_script(python, argv):
                    cases[case] = doc
            print(f"{time.perf_counter() - started:.0f} s", flush=True)
        info["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        if cases:
            mode = "quick" if args.quick else "full"
            name = "latest" if set(wanted) == {"1", "2", "3", "4", "5", "6", "7"} else "latest-partial"
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / f"{name}.json").write_text(
                json.dumps({"mode": mode, "machine": info, "cases": cases, "targets": targets(cases)}, indent=1) + "\n"
            )
            write_report(cases, info, mode, name, args.update_docs)
    if args.profile:
        subprocess.run([str(python), str(BENCH / "profile_aos.py")], cwd=BENCH, env=child_env(), check=True)


if __name__ == "__main__":
    main()
