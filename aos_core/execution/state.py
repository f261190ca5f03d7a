"""Run state: a JSON key-value map that skills read and write through `ctx.state`."""

from __future__ import annotations

import copy
import json
from typing import Any

__all__ = ["RunState", "StateWriter"]


class RunState:
    """The state of one run (or of a runtime's direct executions)."""

    def __init__(self, initial: dict[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(initial or {})

    def get(self, key: str, default: Any = None) -> Any:
        return copy.deepcopy(self._data.get(key, default))

    def apply(self, writes: dict[str, Any]) -> None:
        if writes:
            self._data.update(copy.deepcopy(writes))

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self._data)


class StateWriter:
    """A skill's view of the state: reads see the run's state, writes are recorded then applied."""

    __slots__ = ("_apply", "_state", "writes")

    def __init__(self, state: RunState, apply: bool = True) -> None:
        self._state = state
        self._apply = apply  # False: writes are only recorded (a replay re-executing a skill)
        self.writes: dict[str, Any] = {}

    def get(self, key: str, default: Any = None) -> Any:
        if key in self.writes:
            return copy.deepcopy(self.writes[key])
        return self._state.get(key, default)

    def set(self, key: str, value: Any) -> None:
        if not isinstance(key, str):
            raise TypeError(f"state keys are strings, got {type(key).__name__}")
        try:
            self.writes[key] = json.loads(json.dumps(value))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"state value for {key!r} is not JSON data: {exc}") from None
        if self._apply:
            self._state.apply({key: self.writes[key]})

    def snapshot(self) -> dict[str, Any]:
        return self._state.snapshot()
