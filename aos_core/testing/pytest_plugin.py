"""The pytest plugin of aos-core (entry point `pytest11`): fixtures for plugin authors.

Loaded in every pytest session of an environment where aos-core is installed, so it imports
nothing heavy at module level.
"""

from __future__ import annotations
