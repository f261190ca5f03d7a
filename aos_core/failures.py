"""Failure classification: turning a skill's exception into a catalog code.

Classifiers are plugins; this module also provides the built-in one, registered through the
`core-classifier` entry point of aos-core like any other plugin, at the lowest priority.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.hookspecs import Register, hookimpl

if TYPE_CHECKING:
    from aos_core.contracts.protocols import Classification
    from aos_core.contracts.skill import SkillMetadata

__all__ = ["BaseClassifier", "aos_register_classifiers", "classify_exception"]


class BaseClassifier:
    """Standard-library exceptions that have an obvious code."""

    name = "core"

    def classify(self, exc: BaseException, skill: SkillMetadata) -> Classification | None:
        from aos_core.contracts.protocols import Classification

        message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if isinstance(exc, TimeoutError):  # asyncio.TimeoutError and socket.timeout are the same class
            return Classification(ErrorCode.TIMEOUT, f"{skill.name} timed out ({message})")
        # socket and ssl are looked up, not imported: if neither is loaded, no exception can be theirs
        # (and loading the plugin that holds this classifier stays cheap)
        socket = sys.modules.get("socket")
        if socket is not None and isinstance(exc, socket.gaierror):
            return Classification(ErrorCode.DNS_FAILURE, f"{skill.name} could not resolve a host ({message})")
        ssl = sys.modules.get("ssl")
        if ssl is not None and isinstance(exc, ssl.SSLError):
            return Classification(ErrorCode.CONNECTION_FAILED, f"{skill.name}: TLS failed ({message})")
        if isinstance(exc, ConnectionError):
            return Classification(ErrorCode.CONNECTION_FAILED, f"{skill.name} lost its connection ({message})")
        if isinstance(exc, PermissionError):
            return Classification(ErrorCode.PERMISSION_DENIED, f"{skill.name} was not permitted ({message})")
        return None


@hookimpl(trylast=True)
def aos_register_classifiers(register: Register) -> None:
    register(BaseClassifier(), priority=-1000)


def classify_exception(exc: BaseException, classifiers: Sequence[Any], skill: SkillMetadata) -> ErrorInfo:
    """The first classifier's verdict (highest priority first), else `SKILL_CRASHED`."""
    from aos_core.contracts.protocols import SkillError  # on a failure only: registering stays cheap

    base: dict[str, Any] = {"exception_type": f"{type(exc).__module__}.{type(exc).__qualname__}"}
    if isinstance(exc, SkillError):
        return make_error(exc.code, exc.message, details={**exc.details}, retry_after_ms=exc.retry_after_ms)
    for classifier in classifiers:
        try:
            verdict = classifier.classify(exc, skill)
        except Exception as failure:  # noqa: BLE001 - a broken classifier must not hide the original error
            base.setdefault("classifier_errors", []).append(
                f"{getattr(classifier, 'name', classifier)}: {type(failure).__name__}: {failure}"
            )
            continue
        if verdict is None:
            continue
        try:
            code = ErrorCode(verdict.code)
        except ValueError:
            base.setdefault("classifier_errors", []).append(
                f"{getattr(classifier, 'name', classifier)} returned unknown code {verdict.code!r}"
            )
            continue
        return make_error(
            code,
            verdict.message,
            details={**base, "classifier": getattr(classifier, "name", "?"), **dict(verdict.details)},
            retry_after_ms=verdict.retry_after_ms,
        )
    text = str(exc)
    message = f"{skill.name} crashed: {type(exc).__name__}" + (f": {text}" if text else "")
    return make_error(ErrorCode.SKILL_CRASHED, message, details=base)
