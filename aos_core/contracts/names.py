"""Name patterns shared by several contracts, in a module that builds no model."""

from __future__ import annotations

__all__ = ["STEP_ID_PATTERN"]

# A plan step's id, and the name of a planner, classifier or estimator: a letter or '_', then
# up to 63 letters, digits, '_' or '-'.
STEP_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$"
