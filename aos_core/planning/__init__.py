"""Planning: plan references, validation and the built-in stub planner.

Names load on first use, so discovery, which imports `aos_core.planning.stub` to register the
stub planner, imports neither the references nor the validation module (~2 ms).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aos_core._lazy import from_modules

_EXPORTS = {
    "Reference": "aos_core.planning.references",
    "UnresolvedReference": "aos_core.planning.references",
    "find_references": "aos_core.planning.references",
    "resolve_references": "aos_core.planning.references",
    "dependencies": "aos_core.planning.validation",
    "topological_order": "aos_core.planning.validation",
    "validate_plan": "aos_core.planning.validation",
}

__all__ = [
    "Reference",
    "UnresolvedReference",
    "dependencies",
    "find_references",
    "resolve_references",
    "topological_order",
    "validate_plan",
]

if TYPE_CHECKING:
    from aos_core.planning.references import Reference, UnresolvedReference, find_references, resolve_references
    from aos_core.planning.validation import dependencies, topological_order, validate_plan


__getattr__ = from_modules(__name__, _EXPORTS)
