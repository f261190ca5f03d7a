"""The `SkillContext` handed to a skill on each attempt."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from aos_core.contracts.profile import Policy
from aos_core.execution.resources import ResourcePool
from aos_core.execution.secrets import SecretStore
from aos_core.execution.seeds import derive_seed
from aos_core.execution.state import RunState, StateWriter

__all__ = ["Context", "PlannerCtx"]

T = TypeVar("T")
_CANCEL_LOCK = threading.Lock()  # makes "look at the flag" and "raise it" one step across threads


class Context:
    """Everything non-deterministic a skill may use; random is built on first use."""

    __slots__ = (
        "_cancelled",
        "_memory",
        "_memory_factory",
        "_pool",
        "_random",
        "_run_state",
        "_seed",
        "_writer",
        "attempt",
        "clock",
        "config",
        "deadline_ms",
        "policy",
        "secrets",
        "step_id",
        "traceparent",
    )

    def __init__(
        self,
        clock: Any,
        secrets: SecretStore,
        policy: Policy,
        state: StateWriter | RunState,
        config: Mapping[str, Any],
        step_id: str,
        attempt: int,
        deadline_ms: float | None,
        pool: ResourcePool,
        seed: int,
        memory: Callable[[], Any] | None = None,
    ) -> None:
        self.clock = clock
        self.secrets = secrets
        self.policy = policy
        # a RunState gets its writer on first use of `ctx.state` (most skills never touch it)
        self._writer: StateWriter | None = state if isinstance(state, StateWriter) else None
        self._run_state = state
        self.config = config
        self.step_id = step_id
        self.attempt = attempt
        self.deadline_ms = deadline_ms
        self._pool = pool
        self._seed = seed
        self._random: random.Random | None = None
        # made on first use (an Event costs ~2 µs, a quarter of a trivial call; most skills never look):
        # None, an Event, or True when the runtime gave up before anyone looked
        self._cancelled: threading.Event | bool | None = None
        self._memory_factory = memory
        self._memory: Any = None
        self.traceparent: str | None = None  # set by the pipeline when the call is part of a trace

    @property
    def memory(self) -> Any:
        """The runtime's memory as this attempt sees it (made on first use)."""
        if self._memory is None:
            if self._memory_factory is None:
                raise RuntimeError("this context has no memory")
            self._memory = self._memory_factory()
        return self._memory

    def used_memory(self) -> Any:
        """The attempt's memory if the skill touched it, else None."""
        return self._memory

    @property
    def state(self) -> StateWriter:
        writer = self._writer
        if writer is None:
            writer = self._writer = StateWriter(self._run_state)  # type: ignore[arg-type]
        return writer

    def recorded_writes(self) -> dict[str, Any]:
        """The state writes made through this context (for the run's trace)."""
        return {} if self._writer is None else self._writer.writes

    @property
    def cancelled(self) -> threading.Event:
        """Set when the runtime gives up on this call (its timeout passed, or it was cancelled)."""
        with _CANCEL_LOCK:
            flag = self._cancelled
            if not isinstance(flag, threading.Event):
                event = threading.Event()
                if flag is True:
                    event.set()
                self._cancelled = flag = event
        return flag

    def cancel(self) -> None:
        """The runtime gives up on this call: `cancelled` is (or will be) set."""
        with _CANCEL_LOCK:
            flag = self._cancelled
            if isinstance(flag, threading.Event):
                flag.set()
            else:
                self._cancelled = True

    @property
    def random(self) -> random.Random:
        if self._random is None:
            self._random = random.Random(derive_seed(self._seed, self.step_id, self.attempt, "skill"))
        return self._random

    def resource(self, key: str, factory: Callable[[], T]) -> T:
        return self._pool.get(key, factory)


class PlannerCtx(Context):
    """A planner's context: a `Context` that can also run skills through the runtime."""

    __slots__ = ("_execute",)

    def __init__(self, execute: Callable[[str, Mapping[str, Any]], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._execute = execute

    async def execute(self, skill: str, params: Mapping[str, Any]) -> Any:
        return await self._execute(skill, params)
