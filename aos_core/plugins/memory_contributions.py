"""Validation of what memory plugins register: backend providers and embedders.

Like `contributions`, each check returns the finished entry or raises `ContributionError`
with one line saying what is wrong and how to fix it. Nothing here opens a store or embeds.
"""

from __future__ import annotations

import re
from typing import Any

from aos_core.plugins.contributions import ContributionError, _check_callable, _named

__all__ = ["validate_embedder", "validate_memory_backend"]

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*$")


def validate_memory_backend(obj: Any) -> tuple[str, tuple[str, ...]]:
    """Check a memory backend provider; returns its name and URL schemes."""
    name = _named(obj, "memory backend")
    schemes = getattr(obj, "schemes", None)
    if not isinstance(schemes, tuple | list) or not schemes:
        raise ContributionError(f"memory backend {name!r} needs 'schemes', a tuple of URL schemes such as ('redis',)")
    for scheme in schemes:
        if not isinstance(scheme, str) or not _SCHEME.match(scheme):
            raise ContributionError(
                f"memory backend {name!r} has the scheme {scheme!r}; a scheme is lower-case letters, digits, '+', "
                "'-' or '.', starting with a letter (no '://')"
            )
    _check_callable(getattr(obj, "open", None), f"memory backend {name!r}: open", ("url", "options"))
    return name, tuple(schemes)


def validate_embedder(obj: Any) -> str:
    """Check an embedder; returns its name."""
    name = _named(obj, "embedder")
    dimensions = getattr(obj, "dimensions", None)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or dimensions < 1:
        raise ContributionError(f"embedder {name!r} needs 'dimensions', a positive int; found {dimensions!r}")
    _check_callable(getattr(obj, "embed", None), f"embedder {name!r}: embed", ("texts",))
    cost = getattr(obj, "cost", None)
    if cost is not None and not (hasattr(cost, "money_per_call") and hasattr(cost, "currency")):
        raise ContributionError(
            f"embedder {name!r} has a 'cost' that is not an EmbedderCost; use aos_core.memory.EmbedderCost(...) or None"
        )
    return name
