"""Every code block marked runnable in docs/ and README.md runs, and does what it says.

The convention (docs/architecture.md, "Runnable examples"): a fenced block whose info string
has the word `run` after the language, e.g. ```` ```python run ```` or ```` ```bash run ````,
is executed; ``exit=N`` says the exit status it must end with (default 0). Python blocks run
in a fresh interpreter; shell blocks run with `bash -e -o pipefail`, with this environment's
`aos` and `python` first on PATH. Each block gets an empty working directory and its own AOS_HOME.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from fenced_blocks import fenced_blocks

ROOT = Path(__file__).resolve().parents[2]
PYTHON = {"python", "py"}
SHELL = {"bash", "sh", "shell"}


@dataclass(frozen=True)
class Block:
    """One runnable fenced block of a Markdown file."""

    path: Path
    line: int  # of the opening fence, 1-based
    lang: str
    code: str
    exit: int

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path.name}:{self.line}"


def runnable_blocks(path: Path) -> list[Block]:
    """The blocks of `path` marked `run`; an unknown language marked `run` is an error, not a skip."""
    blocks = []
    for fenced in fenced_blocks(path):
        if "run" not in fenced.options:
            continue
        lang = fenced.lang.lower()
        if lang not in PYTHON | SHELL:
            raise ValueError(f"{path}:{fenced.line}: cannot run a `{lang}` block (python or bash only)")
        exit_code = fenced.option("exit")
        blocks.append(Block(path, fenced.line, lang, fenced.text, int(exit_code) if exit_code else 0))
    return blocks


def run_block(block: Block, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Run one block in `workdir` with a fresh AOS_HOME and this environment's tools on PATH."""
    home = workdir / "aos-home"
    home.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "AOS_HOME": str(home),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    if block.lang in PYTHON:
        script = workdir / "example.py"
        command = [sys.executable, str(script)]
    else:
        script = workdir / "example.sh"
        command = ["bash", "-e", "-o", "pipefail", str(script)]
    script.write_text(block.code, "utf-8")
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False)


def _documents() -> list[Path]:
    return sorted([*ROOT.glob("docs/**/*.md"), *ROOT.glob("README.md")])


BLOCKS = [block for doc in _documents() for block in runnable_blocks(doc)]


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_runnable_block(block: Block, tmp_path: Path) -> None:
    """The block exits as it says it does."""
    result = run_block(block, tmp_path)
    assert result.returncode == block.exit, (
        f"{block.id} exited {result.returncode}, expected {block.exit}\n"
        f"--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )


def test_architecture_doc_has_runnable_examples() -> None:
    """The convention is exercised on the page that documents it, in both languages."""
    langs = {b.lang for b in BLOCKS if b.path.name == "architecture.md"}
    assert langs & PYTHON and langs & SHELL


SAMPLE = """\
# Sample

```python
raise SystemExit("not marked: never run")
```

```python run
import sys
sys.exit(3)
```

~~~bash run exit=2
echo "this example says it fails" >&2
exit 2
~~~

```bash run
aos --version
false
echo "never reached: -e stops at the first failure"
```
"""


def test_a_failing_block_is_caught(tmp_path: Path) -> None:
    """Only marked blocks are collected; a block that fails unexpectedly fails its test, `exit=N` is honoured."""
    doc = tmp_path / "sample.md"
    doc.write_text(SAMPLE, "utf-8")
    unexpected, expected, stops = runnable_blocks(doc)
    assert (unexpected.line, unexpected.lang, unexpected.exit) == (7, "python", 0)
    assert run_block(unexpected, tmp_path / "a").returncode == 3 != unexpected.exit
    assert (expected.lang, expected.exit) == ("bash", 2)
    assert run_block(expected, tmp_path / "b").returncode == expected.exit
    result = run_block(stops, tmp_path / "c")
    assert result.returncode == 1 and result.stdout.startswith("aos ") and "never reached" not in result.stdout


def test_a_runnable_block_in_an_unknown_language_is_refused(tmp_path: Path) -> None:
    """Marking a block `run` that cannot be run is a mistake to report, not to skip."""
    doc = tmp_path / "bad.md"
    doc.write_text("```toml run\nx = 1\n```\n", "utf-8")
    with pytest.raises(ValueError, match="cannot run a `toml` block"):
        runnable_blocks(doc)
