"""Vectors as bytes, and exact nearest-neighbour search in plain Python.

Vectors are normalised to unit length by the facade and stored as little-endian float32, so
the score of a match is the dot product (the cosine similarity), rounded to 6 decimals
(`score`): float32 keeps about 7 digits, so two cosines that are equal in exact arithmetic tie
however they were computed (in Python here, in C by sqlite-vec or pgvector), and the tie is
broken by namespace, then key, on every path. The exact search scans every
candidate: about 1 s per 100,000 vectors of 256 dimensions on one core (see docs/memory.md);
past that, narrow the namespace prefix or use a backend with a vector index.
"""

from __future__ import annotations

import heapq
import math
import operator
import sys
from array import array
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["SCORE_DIGITS", "normalise", "pack", "score", "top_k", "unpack"]

SCORE_DIGITS = 6


def score(cosine: float) -> float:
    """A cosine as the score search reports and orders by."""
    return round(cosine, SCORE_DIGITS)


_BIG_ENDIAN = sys.byteorder == "big"


def normalise(vector: Sequence[float]) -> list[float] | None:
    """Unit length, or None for a zero (or non-finite) vector, which matches nothing."""
    norm = math.sqrt(math.fsum(x * x for x in vector))
    if norm == 0.0 or not math.isfinite(norm):
        return None
    return [x / norm for x in vector]


def pack(vector: Sequence[float]) -> bytes:
    data = array("f", vector)
    if _BIG_ENDIAN:
        data.byteswap()
    return data.tobytes()


def unpack(blob: bytes) -> array:
    data = array("f")
    data.frombytes(blob)
    if _BIG_ENDIAN:
        data.byteswap()
    return data


def top_k(query: bytes, candidates: Iterable[Sequence[Any]], k: int) -> list[tuple[Any, float]]:
    """The `k` best (handle, score) of (handle, namespace, key, vector): highest score first,
    ties by namespace then key. Vectors of another length than the query's are skipped."""
    q = unpack(query)
    size = len(query)
    mul = operator.mul
    scored = (
        (-round(sum(map(mul, q, unpack(blob))), SCORE_DIGITS), namespace, key, handle)
        for handle, namespace, key, blob in candidates
        if len(blob) == size
    )
    best = heapq.nsmallest(k, scored, key=lambda entry: entry[:3])
    return [(handle, -negative) for negative, _, _, handle in best]
