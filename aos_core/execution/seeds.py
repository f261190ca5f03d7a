"""Seeded randomness derived per run, step, attempt and purpose.

Each (step, attempt, purpose) gets its own stream, so a draw added in one step never shifts
the values another step gets.
"""

from __future__ import annotations

import hashlib
import random

__all__ = ["derive_seed", "seeded_random"]


def derive_seed(seed: int, *parts: str | int) -> int:
    """A 64-bit seed from the run seed and a path of names."""
    text = "/".join([str(seed), *map(str, parts)]).encode()
    return int.from_bytes(hashlib.blake2b(text, digest_size=8).digest(), "big")


def seeded_random(seed: int, *parts: str | int) -> random.Random:
    """A `random.Random` on the derived seed."""
    return random.Random(derive_seed(seed, *parts))
