"""The generated reference docs (CLI, failure catalog, hooks) match the code, and the check catches drift."""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import click
import pytest

ROOT = Path(__file__).resolve().parents[2]
GENERATED = ("cli.md", "error_taxonomy.md", "hooks.md", "metrics.md")


def _gen_docs() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_docs", ROOT / "scripts" / "gen_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_docs = _gen_docs()


def test_generated_docs_are_current() -> None:
    """`python scripts/gen_docs.py --check` passes: docs/ says what the code does."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "gen_docs.py"), "--check"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr


def test_check_names_a_stale_doc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An edited generated doc makes `--check` exit 1 naming that file, and only that file."""
    assert gen_docs.main(["--docs-dir", str(tmp_path)]) == 0
    hooks = tmp_path / "hooks.md"
    hooks.write_text(hooks.read_text("utf-8").replace("Contribute skills.", "Contribute skills, maybe."), "utf-8")
    capsys.readouterr()
    assert gen_docs.main(["--check", "--docs-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(hooks) in err
    assert "cli.md" not in err and "error_taxonomy.md" not in err


def test_check_names_a_missing_doc(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A generated doc that does not exist is stale too."""
    assert gen_docs.main(["--check", "--docs-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert all(name in err for name in GENERATED)
    assert not list(tmp_path.iterdir()), "--check writes nothing"


def summary_mismatches(table: dict[str, tuple[str, str]], commands: dict[str, click.Command]) -> dict[str, Any]:
    """Commands whose one-liner in the COMMANDS table differs from the first line of their own help."""
    wrong: dict[str, Any] = {}
    for name, command in commands.items():
        first = inspect.cleandoc(command.help or "").partition("\n")[0]
        if table[name][1] != first:
            wrong[name] = {"COMMANDS": table[name][1], "docstring": first}
    return wrong


def test_top_level_summaries_equal_each_commands_first_help_line() -> None:
    """`aos --help` shows COMMANDS' one-liners; each must be its command's own first help line."""
    from aos_core.cli.app import COMMANDS

    available, _missing = gen_docs.command_status()
    assert available, "no command imports"
    wrong = summary_mismatches(COMMANDS, available)
    assert not wrong, f"fix COMMANDS in aos_core/cli/app.py or the command's docstring: {wrong}"


def test_summary_check_catches_a_drifted_one_liner() -> None:
    """The check itself: a table entry that no longer matches the docstring is reported."""

    @click.command()
    def tidy() -> None:
        """Tidy the store.

        Longer text.
        """

    assert summary_mismatches({"tidy": ("x:tidy", "Tidy the store.")}, {"tidy": tidy}) == {}
    assert summary_mismatches({"tidy": ("x:tidy", "Clean the store.")}, {"tidy": tidy}) == {
        "tidy": {"COMMANDS": "Clean the store.", "docstring": "Tidy the store."}
    }


def test_cli_doc_covers_every_available_command() -> None:
    """docs/cli.md has a section per available command, and lists those not available."""
    available, missing = gen_docs.command_status()
    doc = (ROOT / "docs" / "cli.md").read_text("utf-8")
    for name in available:
        assert f"\n## aos {name}\n" in doc
    for name in missing:
        assert f"- `aos {name}`" in doc


def test_every_failure_code_and_hook_is_documented() -> None:
    """Each catalog code and each hook spec has its place in the generated docs."""
    import aos_core.hookspecs as hookspecs
    from aos_core.contracts.errors import ErrorCode
    from aos_core.hookspecs import PROJECT_NAME

    taxonomy = (ROOT / "docs" / "error_taxonomy.md").read_text("utf-8")
    hooks = (ROOT / "docs" / "hooks.md").read_text("utf-8")
    assert all(f"| `{code.value}` |" in taxonomy for code in ErrorCode)
    specs = [name for name, obj in vars(hookspecs).items() if hasattr(obj, f"{PROJECT_NAME}_spec")]
    assert specs and all(f"## `{name}`" in hooks for name in specs)


def test_exit_codes_are_the_pinned_ones() -> None:
    """The category exit codes the taxonomy documents are PRODUCT.md's."""
    from aos_core.cli.io import EXIT_CODES

    assert EXIT_CODES == {"VALIDATION": 3, "PERMISSION": 4, "RESOURCE": 5, "TRANSIENT": 6, "PERMANENT": 7}
