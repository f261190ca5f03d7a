"""Skills the server tests load into `aos serve` with `--plugin fake_skills:plugin`.

Each writes one line per call to `$AOS_TEST_DIR/calls.log` ("skill step pid"), so a test can
count what ran, in which process, across restarts.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from aos_core import SideEffect
from aos_core.testing import FakePlugin, fake_skill


def _log(name: str, ctx: Any) -> None:
    folder = Path(os.environ["AOS_TEST_DIR"])
    with open(folder / "calls.log", "a", encoding="utf-8") as log:
        log.write(f"{name} {ctx.step_id} {os.getpid()}\n")


def _note(params: Any, ctx: Any) -> dict[str, Any]:
    _log("note", ctx)
    return {"noted": True}


def _sleepy(params: Any, ctx: Any) -> dict[str, Any]:
    """Sleeps `seconds` (default 1) in a worker thread, then notes it finished."""
    time.sleep(float(getattr(params, "seconds", 1)))
    _log("sleepy", ctx)
    return {"slept": True}


def _wipe(params: Any, ctx: Any) -> dict[str, Any]:
    _log("wipe", ctx)
    return {"wiped": True}


def _crash_once(params: Any, ctx: Any) -> dict[str, Any]:
    """Kills its worker process the first time it runs (a skill calling os._exit)."""
    marker = Path(os.environ["AOS_TEST_DIR"]) / "crashed"
    if not marker.exists():
        marker.write_text("x")
        os._exit(3)
    _log("crash_once", ctx)
    return {"survived": True}


plugin = FakePlugin(
    name="server-test-skills",
    skills=[
        fake_skill("note", _note),
        fake_skill("sleepy", _sleepy, blocking=True, timeout_ms=60_000),
        fake_skill("wipe", _wipe, side_effects=SideEffect.DESTRUCTIVE, idempotent=False),
        fake_skill("crash_once", _crash_once),
    ],
)
