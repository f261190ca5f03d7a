"""The `filter` of a search as SQL, for each dialect: exact match of top-level fields with scalars."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from aos_core.memory.backend import Scalar
from aos_core.memory.errors import MemoryInputError

__all__ = ["postgres_filter", "sqlite_filter"]

_INT64 = 2**63


def sqlite_filter(filter: Mapping[str, Scalar], column: str) -> tuple[list[str], list[Any]]:
    """Conditions over a JSON text column, with their parameters (JSON true is not 1, "1" is not 1)."""
    clauses: list[str] = []
    params: list[Any] = []
    for field, expected in filter.items():
        if '"' in field:
            raise MemoryInputError(f"filter field {field!r} contains a double quote, which SQLite paths cannot hold")
        path = f'$."{field}"'
        kind = f"json_type({column}, ?)"
        if expected is None or isinstance(expected, bool):
            clauses.append(f"{kind} = ?")
            params += [path, json.dumps(expected)]
        elif isinstance(expected, str):
            clauses.append(f"{kind} = 'text' AND json_extract({column}, ?) = ?")
            params += [path, path, expected]
        else:
            number: int | float = expected if -_INT64 <= expected < _INT64 else float(expected)
            clauses.append(f"{kind} IN ('integer', 'real') AND json_extract({column}, ?) = ?")
            params += [path, path, number]
    return clauses, params


def postgres_filter(filter: Mapping[str, Scalar], column: str) -> tuple[list[str], list[Any]]:
    """Conditions over a jsonb column: jsonb equality is exact in type, numeric in value."""
    clauses: list[str] = []
    params: list[Any] = []
    for field, expected in filter.items():
        clauses.append(f"({column} -> %s) = %s::jsonb")
        params += [field, json.dumps(expected)]
    return clauses, params
