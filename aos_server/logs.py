"""The log lines of `aos serve` and `aos worker`: one handler for every logger, made by
`aos_core.configure_logging`, so a process's lines (the server's own, uvicorn's access log,
DBOS's warnings, a step outcome with `AOS_LOGS=1`, a skill's own lines) are JSON Lines when
stderr is not a terminal, carry the run and step ids while a step runs, and are redacted with
the runtime's secrets (docs/operations.md)."""

from __future__ import annotations

import logging

from aos_core import configure_logging

__all__ = ["setup_logging"]


def setup_logging() -> None:
    """Install the handler on the `aos` logger and the root logger (INFO); `aos` records stop at
    its own so that none is written twice."""
    handler = configure_logging("INFO")
    logging.getLogger("aos").propagate = False
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "aos"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
