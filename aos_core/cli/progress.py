"""Live progress of a run or a replay on stderr, drawn by rich from the run's events.

The run engine reports events (`run_started`, `step_started`, `step_committed`, `run_ended`...)
to observers on the runtime's loop thread; `Progress` is such an observer. rich is imported only
when a progress display starts, never by `aos --help` or discovery (tests/guards). Shown on a
terminal unless `--json`; `--progress/--no-progress` forces it either way.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

__all__ = ["Progress", "progress_wanted"]


def progress_wanted(flag: bool | None, as_json: bool) -> bool:
    """`--progress`/`--no-progress` when given; else on a terminal, without --json."""
    if flag is not None:
        return flag
    if as_json:
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Steps done/total, steps running, elapsed time and money spent against the limit."""

    def __init__(self, verb: str, max_money: Decimal | None, currency: str, *, force: bool = False) -> None:
        from rich.console import Console
        from rich.live import Live

        self.verb = verb
        self.max_money = max_money
        self.currency = currency
        self.run_id = ""
        self.total = 0
        self.done = 0
        self.failed = 0
        self.running: dict[str, str] = {}  # step id -> skill, in start order
        self.spent = Decimal(0)
        self.ended = ""
        self.started = time.monotonic()
        self._lock = threading.Lock()
        from rich.spinner import Spinner

        self._spinner = Spinner("dots")
        console = Console(stderr=True, force_terminal=True if force else None, highlight=False)
        self._live = Live(self, console=console, refresh_per_second=8, transient=False, redirect_stdout=False)
        self._shown = False  # drawn from the run's start: a run refused before it starts draws nothing

    # -- an observer of the run's events (called on the runtime's loop thread) --------------------
    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("kind")
        start = False
        with self._lock:
            if kind == "run_started":
                self.run_id = str(event.get("run_id") or "")
                self.total = int(event.get("steps") or 0)
                self.done = int(event.get("committed") or 0)
                start, self._shown = not self._shown, True
            elif kind == "step_started":
                self.running[str(event.get("step_id"))] = str(event.get("skill"))
            elif kind == "step_committed":
                self.running.pop(str(event.get("step_id")), None)
                self.done += 1
                self.failed += 0 if event.get("ok") else 1
                cost = event.get("cost") or {}
                self.spent += Decimal(str(cost.get("money") or "0"))
            elif kind == "run_ended":
                self.ended = str(event.get("status") or "")
                self.running.clear()
        if start:
            self._live.start()  # outside the lock: drawing takes it

    # -- what rich draws ------------------------------------------------------------------------------
    def __rich__(self) -> Any:
        from rich.text import Text

        with self._lock:
            text = Text(self._line())
            ended = self.ended
        if ended:
            return text
        self._spinner.update(text=text)
        return self._spinner

    def _line(self) -> str:
        elapsed = int(time.monotonic() - self.started)
        name = f" {self.run_id}" if self.run_id else ""
        parts = [f"{self.verb}{name}: {self.done}/{self.total} steps done"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.running:
            shown = ", ".join(list(self.running)[:3]) + (", ..." if len(self.running) > 3 else "")
            parts.append(f"{len(self.running)} running ({shown})")
        parts.append(f"{elapsed // 60:02d}:{elapsed % 60:02d}")
        limit = f" / {_money(self.max_money)}" if self.max_money is not None else ""
        parts.append(f"spent {_money(self.spent)}{limit} {self.currency}")
        if self.ended:
            parts.append(self.ended)
        return ", ".join(parts)

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Stop drawing while something else uses the terminal (an approval prompt)."""
        if not self._shown:
            yield
            return
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()

    def pausing(self, ask: Callable[[Any], Any] | None) -> Callable[[Any], Any] | None:
        """`ask` (an approver) wrapped so the display pauses while it asks."""
        if ask is None:
            return None

        def wrapped(request: Any) -> Any:
            with self.paused():
                return ask(request)

        return wrapped

    def stop(self) -> None:
        """Draw the last state and leave it on the screen (nothing when the run never started)."""
        if self._shown:
            self._live.stop()


def _money(value: Decimal) -> str:
    from aos_core.cli.io import show_money

    return show_money(value)
