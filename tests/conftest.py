"""Shared fixtures: an isolated AOS_HOME per session and per test, hypothesis profiles, one throwaway venv."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from home_guard import pytest_configure, pytest_sessionfinish, pytest_unconfigure  # noqa: F401 - pytest hooks
from hypothesis import HealthCheck, settings

# `ci` is sized so the whole property suite takes minutes on a 2-core machine; `dev` is quick;
# `thorough` is for a long local run (HYPOTHESIS_PROFILE=thorough).
settings.register_profile("ci", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile("thorough", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own AOS_HOME; no test reads or writes the user's state or config. (Session-
    and module-scoped fixtures run before this one: they get the session's home, set by home_guard.)"""
    home = tmp_path_factory.mktemp("aos-home")
    monkeypatch.setenv("AOS_HOME", str(home))
    monkeypatch.delenv("AOS_DISABLE_PLUGINS", raising=False)
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    return home


@dataclass
class ThrowawayVenv:
    """A virtual environment layered over the test environment: it sees everything installed
    there (through a .pth that adds that site-packages as a site dir) plus what a test installs
    into it with `pip install --no-deps`."""

    path: Path

    @property
    def python(self) -> Path:
        return self.path / "bin" / "python"

    def pip_install(self, *targets: str | Path, editable: bool = False) -> subprocess.CompletedProcess[str]:
        args = [str(self.python), "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-q"]
        for target in targets:
            args += ["-e", str(target)] if editable else [str(target)]
        return subprocess.run(args, capture_output=True, text=True, timeout=300, check=False)

    def pip_uninstall(self, *names: str) -> subprocess.CompletedProcess[str]:
        args = [str(self.python), "-m", "pip", "uninstall", "-y", "-q", *names]
        return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)

    def aos(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        """Run `python -m aos_core ARGS` inside the venv."""
        full_env = {**os.environ, **(env or {})}
        return subprocess.run(
            [str(self.python), "-m", "aos_core", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            check=False,
        )

    def run(self, *args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.python), *args], capture_output=True, text=True, timeout=timeout, cwd=cwd, check=False
        )


@pytest.fixture(scope="session")
def throwaway_venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThrowawayVenv]:
    """One venv for every real-install test of the session (installs are slow on 2 cores)."""
    path = tmp_path_factory.mktemp("venv") / "env"
    venv.EnvBuilder(with_pip=False, system_site_packages=False).create(path)
    site = next((path / "lib").glob("python3*/site-packages"))
    parent = sysconfig.get_paths()["purelib"]
    # A site dir (not a plain path) so the parent's own .pth files, e.g. editable installs, apply;
    # pip itself also comes from the parent environment.
    (site / "_aos_parent_env.pth").write_text(f"import site; site.addsitedir({parent!r})\n")
    yield ThrowawayVenv(path)


class AosCli:
    """Runs the `aos` CLI of the test environment in a subprocess."""

    def __call__(
        self, *args: str, env: dict[str, str] | None = None, input: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aos_core", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            env={**os.environ, **(env or {})},
            check=False,
        )


@pytest.fixture
def aos_cli() -> AosCli:
    """`aos_cli("skills", "--json")` -> CompletedProcess of a real `aos` subprocess."""
    return AosCli()
