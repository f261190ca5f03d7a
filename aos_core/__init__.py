"""AOS: a deterministic, budgeted, replayable runtime for machine-native agents.

The public API is listed once, in `__init__.pyi` beside this file; each name is loaded from its
module on first use, so `aos --help` and plugin discovery stay cheap.
"""

from aos_core._lazy import attach

__version__ = "0.1.0"

__getattr__, __dir__ = attach(__name__, __file__, extra=("__version__",))
