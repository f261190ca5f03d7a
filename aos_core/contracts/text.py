"""Text and data that can be written and read back: strings of Unicode scalar values only,
and arrays and objects nested at most `MAX_JSON_DEPTH` levels deep.

Python's `json` reads a lone surrogate escape (`"\\ud800"`) into a string that UTF-8 cannot
encode, and a command-line argument that is not UTF-8 arrives with such characters too
(surrogateescape). Taken in as it is, such a string breaks later, where a run header, a record
or an outcome is written: refused where a plan or a JSON argument is taken in instead, with where
it is. Data nested a few hundred levels deep is written, then cannot be read back (pydantic-core
stops at its own depth): refused where it is taken in too (the command line's JSON arguments, a
plan's parameters).
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["MAX_JSON_DEPTH", "deeper_than", "non_unicode"]

MAX_JSON_DEPTH = 100  # arrays and objects nested inside each other, the outermost the first

_SURROGATE = re.compile("[\ud800-\udfff]")


def non_unicode(value: Any, path: str = "") -> str | None:
    """The dotted path (`""` for `value` itself) of the first string, or key, in JSON-like data
    (dicts, lists, tuples) that holds a surrogate code point, such a code point in the path
    written as its escape (`\\ud800`); None when there is none."""
    stack: list[tuple[Any, str]] = [(value, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, str):
            if not node.isascii() and _SURROGATE.search(node):
                return where.encode("utf-8", "backslashreplace").decode("utf-8")
        elif isinstance(node, dict):
            children = []
            for key, child in node.items():
                inner = f"{where}.{key}" if where else str(key)
                if isinstance(key, str) and not key.isascii() and _SURROGATE.search(key):
                    return inner.encode("utf-8", "backslashreplace").decode("utf-8")
                children.append((child, inner))
            stack.extend(reversed(children))  # popped in the document's order
        elif isinstance(node, list | tuple):
            stack.extend(reversed([(child, f"{where}.{i}" if where else str(i)) for i, child in enumerate(node)]))
    return None


def deeper_than(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether arrays and objects (dicts, lists, tuples) nest more than `limit` levels in `value`
    (walked without recursion)."""
    stack = [(value, 1)] if isinstance(value, dict | list | tuple) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list | tuple))
    return False
