"""The exceptions AOS raises at a developer, all in one place.

What a skill call does never raises: it comes back as a `StructuredOutcome`. These are for
misuse of the API and for things that are not calls (a run id that does not exist, a trace
file that is not a trace, a store that cannot be opened)::

    AOSError
    ├── UnknownSkill (LookupError)      describe_skill() of a name no plugin provides
    ├── RunNotFound (LookupError)       a run id (or prefix) that is not in the store
    ├── RunBusy                         another live process holds the run (its lease)
    ├── RunNotFinished                  replaying a run that never ended
    ├── TraceError (ValueError)         a trace file or document that is not a valid AOS trace
    └── StoreError                      the run store cannot be opened, read or written

A plugin raises `SkillError` (in `aos_core.contracts.protocols`) from inside a skill to fail with
a chosen code; the runtime turns it into an outcome, so it never reaches a caller.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["AOSError", "RunBusy", "RunNotFinished", "RunNotFound", "StoreError", "TraceError", "UnknownSkill"]


class AOSError(Exception):
    """Base of every exception AOS raises at a developer."""


class UnknownSkill(AOSError, LookupError):
    """Asked about a skill no loaded plugin provides; the message names the closest ones."""

    def __init__(self, name: str, known: Iterable[str]) -> None:
        self.name = name
        self.suggestions = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        super().__init__(f"no skill named {name!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


class RunNotFound(AOSError, LookupError):
    """No run with that id (or unique id prefix) in the store."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "run not found"


class RunBusy(AOSError):
    """The run is held by another live owner (a process or worker holding its lease)."""


class RunNotFinished(AOSError):
    """The run never ended (it was interrupted, or is still running): resume it first."""


class TraceError(AOSError, ValueError):
    """A trace file that cannot be read as an AOS trace; the message says where."""


class StoreError(AOSError):
    """The run store cannot be used; the message names the store and what to do."""
