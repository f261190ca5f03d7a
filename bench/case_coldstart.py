"""Case 2: cold start of the CLI, against the bare mechanism (mincli.py) and against `llm plugins`.

Every command is a fresh process of the bench venv's interpreter, timed by hyperfine (`-N`, no
shell) when it is installed, else by this script. Two throwaway directories go on PYTHONPATH for
every command alike: an empty one ("0 extra plugins") and one holding 100 dummy distributions
written straight as dist-info folders ("100 extra plugins"):

- for aos: entry point group `aos`, each pointing at its own tiny module that defines an input
  and an output model and registers one skill (so each plugin costs what a real, small one does);
- for mincli.py: group `aos_anchor`, each module implementing its `aos_skills` hook.

AOS_HOME and LLM_USER_PATH point into the throwaway directory. `aos skills` answers from its
discovery cache (under AOS_HOME, filled by the warm-up runs) while nothing it depends on changed;
the "discovery cache off" rows (AOS_NO_CACHE=1) show the first run after a change; bytecode caching is on (pyc files
are written during the warm-up runs), as on a user's machine.
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

from benchlib import emit, row

MINCLI = Path(__file__).resolve().parent / "mincli.py"  # the bare click + pluggy mechanism, as a yardstick

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


def write_dist(site: Path, dist: str, module: str, source: str, group: str, ep_name: str) -> None:
    (site / f"{module}.py").write_text(source)
    info = site / f"{dist.replace('-', '_')}-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(f"[{group}]\n{ep_name} = {module}\n")
    (info / "top_level.txt").write_text(module + "\n")
    (info / "RECORD").write_text("")


def make_sites(base: Path, count: int) -> tuple[Path, Path]:
    empty, full = base / "plugins-0", base / "plugins-100"
    empty.mkdir()
    full.mkdir()
    for i in range(count):
        write_dist(
            full, f"aos-bench-dummy-{i:03d}", f"aos_bench_dummy_{i:03d}", AOS_MODULE.format(i=i), "aos", f"dummy{i:03d}"
        )
        write_dist(
            full,
            f"aos-anchor-dummy-{i:03d}",
            f"aos_anchor_dummy_{i:03d}",
            ANCHOR_MODULE.format(i=i),
            "aos_anchor",
            f"dummy{i:03d}",
        )
    return empty, full


def commands(bindir: Path, empty: Path, full: Path) -> list[tuple[str, str, list[str]]]:
    """(name, extra-plugins label, argv)."""
    py, aos, llm = str(bindir / "python"), str(bindir / "aos"), str(bindir / "llm")
    out = []
    for label, site in (("0", empty), ("100", full)):
        env = ["env", f"PYTHONPATH={site}"]
        out += [
            (f"aos --help [{label} extra plugins]", label, [*env, aos, "--help"]),
            (f"aos skills --json [{label} extra plugins]", label, [*env, aos, "skills", "--json"]),
            (
                f"aos skills --json, discovery cache off [{label} extra plugins]",
                label,
                [*env, "AOS_NO_CACHE=1", aos, "skills", "--json"],
            ),
            (f"mincli.py list --json [{label} extra plugins]", label, [*env, py, str(MINCLI), "list", "--json"]),
            (
                f"mincli.py list --json --pydantic [{label} extra plugins]",
                label,
                [*env, py, str(MINCLI), "list", "--json", "--pydantic"],
            ),
        ]
        if label == "0":
            out.append(("llm plugins", label, [*env, llm, "plugins"]))
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
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({result.returncode}): {result.stderr.strip()[-500:]}")
    return result.stdout


def with_hyperfine(
    cmds: list[tuple[str, str, list[str]]], env: dict[str, str], runs: int, warmup: int, tmp: Path
) -> tuple[dict[str, list[float]], int]:
    export = tmp / "hyperfine.json"
    argv = [
        "hyperfine",
        "-N",
        "--style",
        "none",
        "--warmup",
        str(warmup),
        "--runs",
        str(runs),
        "--export-json",
        str(export),
    ]
    for name, _, cmd in cmds:
        argv += ["-n", name, " ".join(cmd)]
    done = subprocess.run(
        argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=1800
    )
    data = json.loads(export.read_text())
    times = {r["command"]: [t * 1000.0 for t in r["times"]] for r in data["results"]}
    return times, done.stderr.count("outliers")


def by_hand(
    cmds: list[tuple[str, str, list[str]]], env: dict[str, str], runs: int, warmup: int
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for name, _, cmd in cmds:
        for _ in range(warmup):
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            times.append((time.perf_counter() - started) * 1000.0)
        out[name] = times
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--plugins", type=int, default=100)
    args = parser.parse_args()
    bindir = Path(sys.executable).parent
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="aos-bench-cold-") as name:
        tmp = Path(name)
        empty, full = make_sites(tmp, args.plugins)
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")}
        env.update(AOS_HOME=str(tmp / "aos-home"), LLM_USER_PATH=str(tmp / "llm-home"))
        cmds = commands(bindir, empty, full)
        # Sanity: the dummies are discovered and load (this also writes their pyc files).
        argv = {name: cmd for name, _, cmd in cmds}
        skills_argv = argv["aos skills --json, discovery cache off [0 extra plugins]"]
        skills0 = json.loads(check(skills_argv, env))["skills"]
        skills100 = json.loads(check(_swap(skills_argv, empty, full), env))["skills"]
        plugins_argv = ["env", f"PYTHONPATH={full}", str(bindir / "aos"), "plugins", "--json"]
        failed = [p for p in json.loads(check(plugins_argv, env))["plugins"] if p["status"] != "loaded"]
        anchor = json.loads(check(argv["mincli.py list --json [100 extra plugins]"], env))
        notes.append(
            f"aos skills: {len(skills0)} with the first-party plugins, {len(skills100)} with {args.plugins} dummies "
            f"({len(failed)} plugin(s) not loaded); mincli.py: {anchor['entry_points']} entry points, "
            f"{len(anchor['skills'])} skills"
        )
        if failed:
            notes.append(
                "not loaded: " + "; ".join(f"{p['name']}: {p['status']} {p.get('reason')}" for p in failed[:3])
            )
        if shutil.which("hyperfine"):
            times, outliers = with_hyperfine(cmds, env, args.runs, args.warmup, tmp)
            notes.append(
                f"timed by hyperfine -N, {args.warmup} warm-up + {args.runs} runs per command"
                + (f"; hyperfine flagged statistical outliers for {outliers} command(s)" if outliers else "")
            )
        else:
            times = by_hand(cmds, env, args.runs, args.warmup)
            notes.append(f"hyperfine not found: timed by subprocess.run, {args.warmup} warm-up + {args.runs} runs")
        heavy = heavy_imports(bindir / "python", env)
    rows = [row(name, "ms", times[name], plugins=label) for name, label, _ in cmds]
    emit("coldstart", rows, notes, heavy_imports=heavy)


def _swap(argv: list[str], empty: Path, full: Path) -> list[str]:
    return [a.replace(f"PYTHONPATH={empty}", f"PYTHONPATH={full}") for a in argv]


if __name__ == "__main__":
    main()
