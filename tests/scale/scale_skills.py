"""Skills the scale tests load into `aos worker` with `--plugin scale_skills:plugin`.

Each call appends one line "skill TAG pid" to `$AOS_TEST_DIR/calls.log` (O_APPEND: lines of
several processes never mix), the counting log the tests compare with the traces. `count` is
idempotent and changes nothing outside; `post` stands for a non-idempotent request (a POST): it
writes, and is never repeated after a crash without being reported. Neither is deterministic (a
replay takes their recorded answers rather than calling them again).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from aos_core import SideEffect
from aos_core.testing import FakePlugin, fake_skill


def _log(name: str, params: Any) -> None:
    time.sleep(float(getattr(params, "ms", 0)) / 1000)
    line = f"{name} {getattr(params, 'tag', '-')} {os.getpid()}\n".encode()
    fd = os.open(Path(os.environ["AOS_TEST_DIR"]) / "calls.log", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


def _count(params: Any, ctx: Any) -> dict[str, Any]:
    _log("count", params)
    return {"counted": getattr(params, "tag", "-")}


def _post(params: Any, ctx: Any) -> dict[str, Any]:
    _log("post", params)
    time.sleep(float(getattr(params, "after_ms", 0)) / 1000)
    return {"posted": getattr(params, "tag", "-")}


def _wipe(params: Any, ctx: Any) -> dict[str, Any]:
    _log("wipe", params)
    return {"wiped": True}


plugin = FakePlugin(
    name="scale-test-skills",
    skills=[
        fake_skill("count", _count, blocking=True, timeout_ms=60_000, deterministic=False),
        fake_skill("wipe", _wipe, side_effects=SideEffect.DESTRUCTIVE, idempotent=False),  # asks for approval
        fake_skill(
            "post",
            _post,
            blocking=True,
            timeout_ms=60_000,
            side_effects=SideEffect.WRITE,
            idempotent=False,
            deterministic=False,
        ),
    ],
)
