"""Modules stay small enough to read in one sitting: at most 400 lines, with an allowlist that may only shrink."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 400

# Modules over the limit, each with its reason. Only remove entries: split the module, then
# delete its line here (the test fails while an entry is no longer needed).
ALLOWED: dict[str, str] = {
    "aos_core/runtime.py": "the public facade: one short method per public operation, each with its sync or "
    "async twin; split, a reader of the API would have to open several files",
}


def oversized(packages: list[Path], root: Path, limit: int = LIMIT) -> dict[str, int]:
    """Each .py module under `packages` (tests excluded) longer than `limit` lines, by path relative to `root`."""
    found = {}
    for package in packages:
        for path in sorted(package.rglob("*.py")):
            if "tests" in path.relative_to(package).parts:
                continue
            lines = len(path.read_text("utf-8").splitlines())
            if lines > limit:
                found[path.relative_to(root).as_posix()] = lines
    return found


def test_no_module_over_the_limit_unless_allowed(packages: list[Path]) -> None:
    """A module past 400 lines is split by idea, or allowlisted here with a reason."""
    over = oversized(packages, ROOT)
    new = {path: lines for path, lines in over.items() if path not in ALLOWED}
    assert not new, f"over {LIMIT} lines: {new}; split them (see STYLE.md, 15)"


def test_allowlist_only_shrinks(packages: list[Path]) -> None:
    """An allowlisted module that is now within the limit (or gone) must leave the allowlist."""
    over = oversized(packages, ROOT)
    stale = sorted(set(ALLOWED) - set(over))
    assert not stale, f"remove from ALLOWED in {Path(__file__).name}: {stale}"


def test_size_check_flags_a_401_line_module(tmp_path: Path) -> None:
    """The check itself: 400 lines pass, 401 are flagged, tests are not counted."""
    package = tmp_path / "pkg"
    (package / "tests").mkdir(parents=True)
    (package / "fits.py").write_text("x = 1\n" * LIMIT, "utf-8")
    (package / "big.py").write_text("x = 1\n" * (LIMIT + 1), "utf-8")
    (package / "tests" / "test_big.py").write_text("x = 1\n" * 1000, "utf-8")
    assert oversized([package], tmp_path) == {"pkg/big.py": LIMIT + 1}
