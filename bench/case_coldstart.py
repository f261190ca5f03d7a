"""Cases 2 and 7: cold starts of the command line, against the bare mechanism (mincli.py) and `llm plugins`.

Every command is a fresh process of the bench venv's interpreter. Throwaway directories go on
PYTHONPATH for every command alike, one per plugin count: an empty one ("0 extra plugins") and
ones holding 100 or 300 dummy distributions written straight as dist-info folders:

- for aos: entry point group `aos`, each pointing at its own tiny module that defines an input
  and an output model and registers one skill (so each plugin costs what a real, small one does);
- for mincli.py: group `aos_anchor`, each module implementing its `aos_skills` hook.

Each plugin count has its own AOS_HOME (the discovery cache keeps the answer of one set of
plugins: a home shared by two counts would be rewritten at every switch), and LLM_USER_PATH
points into the throwaway directory. Bytecode caching is on (pyc files are written during the
warm-up runs), as on a user's machine.

Case 2 (`--only coldstart`, 0 and 100 plugins): `aos --help`, `aos skills --json` (answered from
the discovery cache, filled by the warm-up runs, while nothing it depends on changed),
`mincli.py list --json [--pydantic]` and `llm plugins`.

Case 7 (`--only plugins`, 0, 100 and 300 plugins): `aos exec json_transform` (the discovery
cache filled by an `aos skills` before the warm-up), `aos skills --json` with the cache off
(`AOS_NO_CACHE=1`: the first command after an install or an upgrade), and
`mincli.py list --json --pydantic`; as a diagnostic, `mincli.py list --json --pydantic --models`
(two small pydantic models built per plugin, as each dummy AOS plugin defines: the part of the
gap that is pydantic's own, which no discovery that validates a model avoids).

Timing (`--timer rounds`, the default): rounds; each round runs every command once, in a fixed
order, timed from spawn to exit by this script. A round's ratios therefore compare processes
started seconds apart, and run.py takes the median of the per-round ratios. `--timer hyperfine`
times each command in a block of its own with `hyperfine -N` instead (only the ratio of medians
is then meaningful); without hyperfine installed it falls back on rounds, and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import emit, failure_tail, row, write_dist

MINCLI = Path(__file__).resolve().parent / "mincli.py"  # the bare click + pluggy mechanism, as a yardstick
EXEC_PARAMS = '{"expression": "a.b", "data": {"a": {"b": 1}}}'

AOS_MODULE = '''"""Dummy AOS plugin {i} (benchmark)."""
from pydantic import BaseModel

from aos_core import SkillMetadata, hookimpl


class Input(BaseModel):
    text: str = ""


class Output(BaseModel):
    text: str = ""


class Skill:
    metadata = SkillMetadata(
        name="dummy_{i:03d}",
        version="0.1.0",
        description="Dummy skill {i} for the cold-start benchmark.",
        side_effects="none",
        idempotent=True,
        deterministic=True,
        blocking=False,
    )
    Input = Input
    Output = Output

    def execute(self, params, ctx):
        return {{"text": params.text}}


@hookimpl
def aos_register_skills(register):
    register(Skill())
'''

ANCHOR_MODULE = '''"""Dummy mincli plugin {i} (benchmark)."""
import pluggy

hookimpl = pluggy.HookimplMarker("aos_anchor")


@hookimpl
def aos_skills():
    return ["dummy_{i:03d}"]
'''


class Command:
    """One command line: its argv, its environment, and the row it makes."""

    def __init__(self, key: str, label: str, count: int, argv: list[str], env: dict[str, str]) -> None:
        self.key, self.label, self.count, self.argv, self.env = key, label, count, argv, env

    @property
    def name(self) -> str:
        return self.label if self.key == "llm" else f"{self.label} [{self.count} extra plugins]"


def make_site(base: Path, count: int) -> Path:
    site = base / f"plugins-{count}"
    site.mkdir()
    for i in range(count):
        write_dist(
            site, f"aos-bench-dummy-{i:03d}", f"aos_bench_dummy_{i:03d}", AOS_MODULE.format(i=i), "aos", f"dummy{i:03d}"
        )
        write_dist(
            site,
            f"aos-anchor-dummy-{i:03d}",
            f"aos_anchor_dummy_{i:03d}",
            ANCHOR_MODULE.format(i=i),
            "aos_anchor",
            f"dummy{i:03d}",
        )
    return site


def environment(base: Path, site: Path, count: int, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH", "AOS_NO_CACHE")}
    env.update(PYTHONPATH=str(site), AOS_HOME=str(base / f"aos-home-{count}"), LLM_USER_PATH=str(base / "llm-home"))
    env.update(extra)
    return env


def commands(only: str, bindir: Path, base: Path, sites: dict[int, Path]) -> list[Command]:
    py, aos, llm = str(bindir / "python"), str(bindir / "aos"), str(bindir / "llm")
    out: list[Command] = []
    for count, site in sites.items():
        env = environment(base, site, count)
        if only == "coldstart":
            out += [
                Command("help", "aos --help", count, [aos, "--help"], env),
                Command("skills", "aos skills --json", count, [aos, "skills", "--json"], env),
                Command("mincli", "mincli.py list --json", count, [py, str(MINCLI), "list", "--json"], env),
                Command(
                    "mincli-pydantic",
                    "mincli.py list --json --pydantic",
                    count,
                    [py, str(MINCLI), "list", "--json", "--pydantic"],
                    env,
                ),
            ]
            if count == 0:
                out.append(Command("llm", "llm plugins", count, [llm, "plugins"], env))
        else:
            out += [
                Command(
                    "exec",
                    "aos exec json_transform",
                    count,
                    [aos, "exec", "json_transform", "--params", EXEC_PARAMS],
                    env,
                ),
                Command(
                    "skills-nocache",
                    "aos skills --json, discovery cache off",
                    count,
                    [aos, "skills", "--json"],
                    environment(base, site, count, AOS_NO_CACHE="1"),
                ),
                Command(
                    "mincli-pydantic",
                    "mincli.py list --json --pydantic",
                    count,
                    [py, str(MINCLI), "list", "--json", "--pydantic"],
                    env,
                ),
                Command(  # a diagnostic: the mechanism plus the two small models each dummy plugin defines
                    "mincli-models",
                    "mincli.py list --json --pydantic --models",
                    count,
                    [py, str(MINCLI), "list", "--json", "--pydantic", "--models"],
                    env,
                ),
            ]
    return out


HEAVY = ("anthropic", "httpx", "httpx2", "httpcore", "httpcore2", "aiohttp", "jmespath", "genai_prices", "jsonschema")
PROBE = """
import atexit, sys
def report():
    heavy = sorted(m for m in sys.modules if m in {heavy!r})
    sys.stderr.write("HEAVY:" + ",".join(heavy) + "\\n")
atexit.register(report)
from aos_core.cli import main
sys.exit(main({argv!r}))
"""


def heavy_imports(python: Path, env: dict[str, str]) -> dict[str, list[str]]:
    """Which heavy libraries `aos --help` and `aos skills --json` import (should be none)."""
    found = {}
    for argv in (["--help"], ["skills", "--json"]):
        code = PROBE.format(heavy=HEAVY, argv=argv)
        result = subprocess.run([str(python), "-c", code], env=env, capture_output=True, text=True, check=False)
        line = next((x for x in result.stderr.splitlines() if x.startswith("HEAVY:")), "HEAVY:?")
        found["aos " + " ".join(argv)] = [m for m in line[6:].split(",") if m]
    return found


def check(argv: list[str], env: dict[str, str]) -> str:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}): {failure_tail(result.stderr)}")
    return result.stdout


def once(cmd: Command) -> float:
    """Milliseconds from spawn to exit."""
    started = time.perf_counter()
    code = subprocess.run(
        cmd.argv, env=cmd.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    ).returncode
    took = (time.perf_counter() - started) * 1000.0
    if code != 0:
        raise SystemExit(f"{cmd.name} exited {code}: {failure_tail(check(cmd.argv, cmd.env))}")
    return took


def by_rounds(cmds: list[Command], runs: int, warmup: int) -> dict[str, list[float]]:
    for cmd in cmds:
        for _ in range(warmup):
            once(cmd)
    times: dict[str, list[float]] = {cmd.name: [] for cmd in cmds}
    for _ in range(runs):
        for cmd in cmds:
            times[cmd.name].append(once(cmd))
    return times


def with_hyperfine(cmds: list[Command], runs: int, warmup: int, tmp: Path) -> tuple[dict[str, list[float]], int]:
    export = tmp / "hyperfine.json"
    argv = ["hyperfine", "-N", "--style", "none", "--warmup", str(warmup), "--runs", str(runs)]
    argv += ["--export-json", str(export)]
    for cmd in cmds:
        overrides = [f"{k}={v}" for k, v in cmd.env.items() if os.environ.get(k) != v]
        argv += ["-n", cmd.name, " ".join(["env", *overrides, *cmd.argv])]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run(
        argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=3600
    )
    data = json.loads(export.read_text())
    times = {r["command"]: [t * 1000.0 for t in r["times"]] for r in data["results"]}
    return times, done.stderr.count("outliers")


def sanity(cmds: list[Command], bindir: Path, sites: dict[int, Path], base: Path) -> list[str]:
    """The dummies are discovered and load; this also writes their pyc files and fills the caches."""
    notes = []
    for count, site in sites.items():
        env = environment(base, site, count)
        skills = json.loads(check([str(bindir / "aos"), "skills", "--json"], env))["skills"]
        plugins = json.loads(check([str(bindir / "aos"), "plugins", "--json"], env))["plugins"]
        failed = [p for p in plugins if p["status"] != "loaded"]
        anchor = json.loads(check([str(bindir / "python"), str(MINCLI), "list", "--json"], env))
        notes.append(
            f"{count} extra plugins: aos skills lists {len(skills)} ({len(failed)} plugin(s) not loaded); "
            f"mincli.py: {anchor['entry_points']} entry points, {len(anchor['skills'])} skills"
        )
        if failed:
            notes.append(
                "not loaded: " + "; ".join(f"{p['name']}: {p['status']} {p.get('reason')}" for p in failed[:3])
            )
    for cmd in cmds:
        if cmd.key == "exec":
            out = check(cmd.argv, cmd.env)
            if cmd.count == 0:
                notes.append(f"aos exec json_transform --params '{EXEC_PARAMS}' prints {out.strip()[:80]!r}")
    return notes


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("coldstart", "plugins"), default="coldstart")
    parser.add_argument("--counts", default=None, help="extra plugin counts (default 0,100; plugins: 0,100,300)")
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--timer", choices=("rounds", "hyperfine"), default="rounds")
    args = parser.parse_args()
    counts = [int(c) for c in (args.counts or ("0,100" if args.only == "coldstart" else "0,100,300")).split(",")]
    bindir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="aos-bench-cold-") as name:
        tmp = Path(name)
        sites = {count: make_site(tmp, count) for count in counts}
        cmds = commands(args.only, bindir, tmp, sites)
        notes = sanity(cmds, bindir, sites, tmp)
        paired = True
        if args.timer == "hyperfine" and shutil.which("hyperfine"):
            times, outliers = with_hyperfine(cmds, args.runs, args.warmup, tmp)
            paired = False
            notes.append(
                f"timed by hyperfine -N, {args.warmup} warm-up + {args.runs} runs per command, command by command"
                + (f"; hyperfine flagged statistical outliers for {outliers} command(s)" if outliers else "")
            )
        else:
            times = by_rounds(cmds, args.runs, args.warmup)
            fallback = "hyperfine not found: " if args.timer == "hyperfine" else ""
            notes.append(
                f"{fallback}timed from spawn to exit by case_coldstart.py; {args.warmup} warm-up run(s) per command, "
                f"then {args.runs} rounds, each running every command once"
            )
        heavy = heavy_imports(bindir / "python", environment(tmp, sites[counts[0]], counts[0]))
    rows = [row(cmd.name, "ms", times[cmd.name], key=f"{cmd.key}@{cmd.count}", plugins=cmd.count) for cmd in cmds]
    extra = {"heavy_imports": heavy} if args.only == "coldstart" else {}
    emit(args.only, rows, notes, paired=paired, counts=counts, **extra)


if __name__ == "__main__":
    main()
