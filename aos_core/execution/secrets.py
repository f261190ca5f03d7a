"""Secrets: resolved by name at call time, remembered so their values can be redacted anywhere.

Params name secrets as `${secrets.NAME}`; traces keep the reference, never the value.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["MissingSecret", "SecretStore", "has_secret_refs", "resolve_secret_refs"]

SECRET_REF = re.compile(r"\$\{secrets\.([A-Za-z_][A-Za-z0-9_]*)\}")
_MIN_REDACT = 4  # shorter values would redact ordinary text


class MissingSecret(KeyError):
    """A `${secrets.NAME}` reference whose secret is not set."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"secret {self.name} is not set; export {self.name}=... or configure a secrets provider"


class SecretStore:
    """Looks secrets up (environment by default) and redacts every value it has handed out."""

    def __init__(self, source: Mapping[str, str] | Callable[[str], str | None] | None = None) -> None:
        if source is None:
            self._lookup: Callable[[str], str | None] = os.environ.get
        elif isinstance(source, Mapping):
            self._lookup = source.get
        else:
            self._lookup = source
        self._revealed: dict[str, str] = {}
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None

    def find(self, name: str) -> str | None:
        value = self._lookup(name)
        if value:
            self.remember(value, name)
        return value or None

    def get(self, name: str) -> str:
        value = self.find(name)
        if value is None:
            raise MissingSecret(name)
        return value

    def remember(self, value: str, name: str) -> None:
        """Treat `value` as secret from now on (e.g. a key read from configuration)."""
        if len(value) < _MIN_REDACT or value in self._revealed:
            return
        with self._lock:
            self._revealed[value] = name
            ordered = sorted(self._revealed, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(v) for v in ordered))

    @property
    def active(self) -> bool:
        return self._pattern is not None

    def redact_text(self, text: str) -> str:
        pattern = self._pattern
        if pattern is None:
            return text
        return pattern.sub(lambda m: f"[REDACTED:{self._revealed[m.group(0)]}]", text)

    def redact(self, value: Any) -> Any:
        """`value` with every known secret value replaced, in strings at any depth (keys too)."""
        if self._pattern is None:
            return value
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return {self.redact(k): self.redact(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact(v) for v in value]
        return value


_SCALARS = (int, float, bool, type(None))


def has_secret_refs(value: Any) -> bool:
    """Whether any string in `value`, at any depth, holds `${secrets.`."""
    kind = type(value)
    if kind is dict:
        for item in value.values():
            item_kind = type(item)
            if item_kind is str:
                if "${secrets." in item:
                    return True
            elif item_kind not in _SCALARS and has_secret_refs(item):
                return True
        return False
    if isinstance(value, str):
        return "${secrets." in value
    if isinstance(value, Mapping):
        return any(has_secret_refs(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_secret_refs(v) for v in value)
    return False


def resolve_secret_refs(value: Any, store: SecretStore) -> Any:
    """`value` with each `${secrets.NAME}` replaced by the secret; `MissingSecret` if one is unset."""
    if isinstance(value, str):
        return SECRET_REF.sub(lambda m: store.get(m.group(1)), value) if "${secrets." in value else value
    if isinstance(value, Mapping):
        return {k: resolve_secret_refs(v, store) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [resolve_secret_refs(v, store) for v in value]
    return value
