"""Text that can be written: strings of Unicode scalar values only.

Python's `json` reads a lone surrogate escape (`"\\ud800"`) into a string that UTF-8 cannot
encode, and a command-line argument that is not UTF-8 arrives with such characters too
(surrogateescape). Taken in as it is, such a string breaks later, where a run header, a record
or an outcome is written: refused where a plan or a JSON argument is taken in instead, with where
it is.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["non_unicode"]

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
