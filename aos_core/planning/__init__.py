"""Planning: plan references, validation and the built-in stub planner."""

from aos_core.planning.references import Reference, UnresolvedReference, find_references, resolve_references
from aos_core.planning.validation import dependencies, topological_order, validate_plan

__all__ = [
    "Reference",
    "UnresolvedReference",
    "dependencies",
    "find_references",
    "resolve_references",
    "topological_order",
    "validate_plan",
]
