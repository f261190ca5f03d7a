"""Ctrl-C and SIGTERM: both interrupt the command the same way, and set its exit code.

SIGINT already raises `KeyboardInterrupt` in the main thread; `handle_sigterm` makes SIGTERM do
the same, so the runtime's sync API cancels the work on its loop, lets it clean up (a run is
recorded `interrupted`, its lease released) and re-raises. The exit code then says which signal
it was: 130 for SIGINT, 143 for SIGTERM (128 + the signal's number, the shell's convention).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from aos_core.cli.errors import EXIT_INTERRUPTED, EXIT_TERMINATED

__all__ = ["handle_sigterm", "signal_exit"]


class _Received:
    sigterm = False


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _Received.sigterm:
        return  # once is enough: let the cleanup the first one started finish
    _Received.sigterm = True
    raise KeyboardInterrupt


@contextmanager
def handle_sigterm() -> Iterator[None]:
    """While inside, SIGTERM interrupts the main thread like Ctrl-C (a no-op off the main thread)."""
    _Received.sigterm = False
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def signal_exit() -> int:
    """The exit code of the interruption being handled: 143 after SIGTERM, else 130."""
    return EXIT_TERMINATED if _Received.sigterm else EXIT_INTERRUPTED
