"""`ctx.memory`: the runtime's memory as one attempt of one call sees it.

Every operation is written down in the attempt's memory log (what was asked, what came back),
so a replay can serve it back without the live store. Writes are held until the attempt ends
and applied, in order, only when it succeeded: a failed attempt writes nothing. Inside the
attempt, `get` sees its own pending writes; `search` and `list_namespaces` see the store as it
is. A skill that declares no side effects (or only reads) may not write: writing memory is a
side effect, refused with POLICY_VIOLATION.

The replay's counterpart (`aos_core.runs.replay.ReplayMemory`) answers from the log instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from aos_core.contracts.errors import ErrorCode
from aos_core.contracts.protocols import SkillError
from aos_core.memory import inputs
from aos_core.memory.models import MemoryItem, SearchHit
from aos_core.memory.store import Memory

__all__ = ["AttemptMemory", "item_args", "list_args", "log_entry", "put_args", "result_of", "search_args"]


def log_entry(op: str, args: dict[str, Any], result: Any) -> dict[str, Any]:
    """One line of an attempt's memory log, as JSON data."""
    return {"op": op, "args": args, "result": _json(result)}


def _json(result: Any) -> Any:
    if isinstance(result, MemoryItem):
        return result.model_dump(mode="json")
    if isinstance(result, list):
        return [_json(item) for item in result]
    if isinstance(result, tuple):
        return list(result)
    return result


def put_args(labels: tuple[str, ...], key: str, value: Any, ttl: float | None) -> dict[str, Any]:
    return {"namespace": list(labels), "key": key, "value": value, "ttl": ttl}


def item_args(labels: tuple[str, ...], key: str) -> dict[str, Any]:
    return {"namespace": list(labels), "key": key}


def search_args(prefix: Any, query: str | None, filter: Any, limit: int, offset: int) -> dict[str, Any]:
    labels = list(inputs.check_prefix(prefix))
    return {"namespace_prefix": labels, "query": query, "filter": filter, "limit": limit, "offset": offset}


def list_args(prefix: Any, max_depth: int | None, limit: int, offset: int) -> dict[str, Any]:
    labels = None if prefix is None else list(inputs.check_prefix(prefix))
    return {"prefix": labels, "max_depth": max_depth, "limit": limit, "offset": offset}


def result_of(op: str, recorded: Any) -> Any:
    """What an operation returns, from its logged JSON (the replay serves it so)."""
    if op in ("get", "put"):
        return None if recorded is None else MemoryItem.model_validate(recorded)
    if op == "search":
        return [SearchHit.model_validate(hit) for hit in recorded]
    if op == "list_namespaces":
        return [tuple(namespace) for namespace in recorded]
    return recorded  # delete: a bool


class AttemptMemory:
    """The memory of one attempt: logged, its writes applied when the attempt succeeds."""

    __slots__ = ("_memory", "_open", "log", "pending", "skill", "writes_allowed")

    def __init__(self, memory: Callable[[], Memory], skill: str, writes_allowed: bool) -> None:
        self._memory = memory  # made on first use: most skills never touch memory
        self._open: Memory | None = None
        self.skill = skill
        self.writes_allowed = writes_allowed
        self.log: list[dict[str, Any]] = []
        self.pending: list[tuple[str, tuple[str, ...], str, Any, float | None]] = []

    @property
    def store(self) -> Memory:
        if self._open is None:
            self._open = self._memory()
        return self._open

    def _refuse_write(self) -> None:
        if not self.writes_allowed:
            raise SkillError(
                ErrorCode.POLICY_VIOLATION,
                f"{self.skill} declares no side effects (or only reads) but wrote memory; writing memory is a "
                "side effect: declare side_effects 'write'",
                details={"rule": "side_effects", "skill": self.skill},
            )

    def put(self, namespace: Any, key: Any, value: Any, ttl: float | None = None) -> MemoryItem:
        """Put `value`; applied when the attempt succeeds. Returns the item as it will be written."""
        self._refuse_write()
        labels, key = inputs.check_namespace(namespace), inputs.check_key(key)
        inputs.dump_value(value, self.store.max_value_bytes)  # refuse a value the store would refuse, now
        lifetime = inputs.ttl_us(ttl)
        now = self.store.clock.now()
        before = self._pending_item(labels, key)
        created = now if before is None else before.created_at
        if before is None and not any(p[1] == labels and p[2] == key for p in self.pending):
            existing = self.store.get(labels, key)
            created = now if existing is None else existing.created_at
        expires = None if lifetime is None else now + timedelta(microseconds=lifetime)
        item = MemoryItem(
            namespace=labels, key=key, value=value, created_at=created, updated_at=now, expires_at=expires
        )
        self.pending.append(("put", labels, key, value, ttl))
        self.log.append(log_entry("put", put_args(labels, key, value, ttl), item))
        return item

    def delete(self, namespace: Any, key: Any) -> bool:
        """Delete the item; applied when the attempt succeeds. True when it exists now."""
        self._refuse_write()
        labels, key = inputs.check_namespace(namespace), inputs.check_key(key)
        pending = self._pending_state(labels, key)
        existed = (self.store.get(labels, key) is not None) if pending is None else pending == "present"
        self.pending.append(("delete", labels, key, None, None))
        self.log.append(log_entry("delete", item_args(labels, key), existed))
        return existed

    def get(self, namespace: Any, key: Any) -> MemoryItem | None:
        labels, key = inputs.check_namespace(namespace), inputs.check_key(key)
        state = self._pending_state(labels, key)
        if state is None:
            item = self.store.get(labels, key)
        else:
            item = self._pending_item(labels, key) if state == "present" else None
        self.log.append(log_entry("get", item_args(labels, key), item))
        return item

    def search(
        self,
        namespace_prefix: Any = (),
        query: str | None = None,
        filter: dict[str, Any] | None = None,
        limit: int = 10,
        offset: int = 0,
    ) -> list[SearchHit]:
        hits = self.store.search(namespace_prefix, query, filter, limit, offset)
        self.log.append(log_entry("search", search_args(namespace_prefix, query, filter, limit, offset), hits))
        return hits

    def list_namespaces(
        self, prefix: Any = None, max_depth: int | None = None, limit: int = 100, offset: int = 0
    ) -> list[tuple[str, ...]]:
        found = self.store.list_namespaces(prefix, max_depth, limit, offset)
        self.log.append(log_entry("list_namespaces", list_args(prefix, max_depth, limit, offset), found))
        return found

    def apply(self) -> None:
        """Write what the attempt put and deleted, in order (it succeeded)."""
        pending, self.pending = self.pending, []
        for op, labels, key, value, ttl in pending:
            if op == "put":
                self.store.put(labels, key, value, ttl)
            else:
                self.store.delete(labels, key)

    def _pending_state(self, labels: tuple[str, ...], key: str) -> str | None:
        """ "present" or "deleted" by this attempt's last pending write of the key; None: untouched."""
        for op, where, name, _, _ in reversed(self.pending):
            if where == labels and name == key:
                return "present" if op == "put" else "deleted"
        return None

    def _pending_item(self, labels: tuple[str, ...], key: str) -> MemoryItem | None:
        for entry in reversed(self.log):
            if entry["op"] == "put" and entry["args"]["namespace"] == list(labels) and entry["args"]["key"] == key:
                return MemoryItem.model_validate(entry["result"])
        return None
