"""Memory failures, as typed exceptions that carry a catalog code.

    MemoryStoreError (a SkillError: a skill that lets one escape fails with its code)
    ├── MemoryInputError (also ValueError): bad input, INVALID_INPUT (VALIDATION)
    └── MemoryUnavailable: the store cannot answer now, CONNECTION_FAILED or TIMEOUT (TRANSIENT)

Every message is one line a person can act on; the driver's exception is kept as `__cause__`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aos_core.contracts.errors import ErrorCode
from aos_core.contracts.protocols import SkillError

__all__ = ["MemoryInputError", "MemoryStoreError", "MemoryUnavailable"]


class MemoryStoreError(SkillError):
    """A memory operation failed; `code` is a catalog code, `message` says what to do."""

    def __init__(self, code: ErrorCode | str, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(code, message, details=details)


class MemoryInputError(MemoryStoreError, ValueError):
    """A namespace, key, value, filter, TTL, limit or URL that memory cannot take."""

    def __init__(self, message: str, *, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(ErrorCode.INVALID_INPUT, message, details=details)


class MemoryUnavailable(MemoryStoreError):
    """The store did not answer: unreachable, or busy past its timeout. A retry may work."""

    def __init__(self, message: str, *, timeout: bool = False, details: Mapping[str, Any] | None = None) -> None:
        super().__init__(ErrorCode.TIMEOUT if timeout else ErrorCode.CONNECTION_FAILED, message, details=details)
