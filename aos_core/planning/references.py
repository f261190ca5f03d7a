"""`${steps.ID.output...}` references between plan steps: finding, checking and resolving them.

A parameter that is exactly one reference takes the referenced value with its type; a
reference inside a longer string is replaced by its text (JSON for non-strings).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Reference", "UnresolvedReference", "find_references", "resolve_references", "walk_schema"]

STEP_REF = re.compile(r"\$\{steps\.([A-Za-z_][A-Za-z0-9_-]*)\.output((?:\.[A-Za-z0-9_-]+|\[\d+\])*)\}")
_PART = re.compile(r"\.([A-Za-z0-9_-]+)|\[(\d+)\]")


@dataclass(frozen=True, slots=True)
class Reference:
    """One reference: the step it names, the path into its output, and the parameter holding it."""

    step: str
    path: tuple[str | int, ...]
    param: str
    text: str


class UnresolvedReference(LookupError):
    """A reference whose step has no output, or whose path is not in that output."""


def _parse_path(text: str) -> tuple[str | int, ...]:
    parts: list[str | int] = []
    for match in _PART.finditer(text):
        name, index = match.groups()
        if index is not None:
            parts.append(int(index))
        elif name is not None and name.isdigit():
            parts.append(int(name))
        else:
            parts.append(name)
    return tuple(parts)


def find_references(params: Any, where: str = "") -> Iterator[Reference]:
    """Every step reference in `params`, at any depth, with the dotted parameter path holding it."""
    kind = type(params)
    if kind is int or kind is float or kind is bool or params is None:
        return
    if kind is str:
        if "${steps." not in params:
            return
        for match in STEP_REF.finditer(params):
            yield Reference(match.group(1), _parse_path(match.group(2)), where, match.group(0))
    elif kind is dict:
        for key, value in params.items():
            yield from find_references(value, f"{where}.{key}" if where else str(key))
    elif isinstance(params, str):
        for match in STEP_REF.finditer(params):
            yield Reference(match.group(1), _parse_path(match.group(2)), where, match.group(0))
    elif isinstance(params, Mapping):
        for key, value in params.items():
            yield from find_references(value, f"{where}.{key}" if where else str(key))
    elif isinstance(params, list | tuple):
        for index, value in enumerate(params):
            yield from find_references(value, f"{where}[{index}]")


def _lookup(outputs: Mapping[str, Any], step: str, path: tuple[str | int, ...], text: str) -> Any:
    if step not in outputs:
        raise UnresolvedReference(f"{text}: step {step!r} has no output")
    value = outputs[step]
    for part in path:
        if isinstance(part, int) and isinstance(value, list) and -len(value) <= part < len(value):
            value = value[part]
        elif isinstance(value, Mapping) and str(part) in value:
            value = value[str(part)]
        else:
            raise UnresolvedReference(f"{text}: the output of {step!r} has no {part!r} there")
    return value


def resolve_references(params: Any, outputs: Mapping[str, Any]) -> Any:
    """`params` with every step reference replaced from `outputs` (step id -> output JSON)."""
    if isinstance(params, str):
        whole = STEP_REF.fullmatch(params)
        if whole:
            return _lookup(outputs, whole.group(1), _parse_path(whole.group(2)), params)
        if "${steps." not in params:
            return params

        def text(match: re.Match[str]) -> str:
            value = _lookup(outputs, match.group(1), _parse_path(match.group(2)), match.group(0))
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)

        return STEP_REF.sub(text, params)
    if isinstance(params, Mapping):
        return {key: resolve_references(value, outputs) for key, value in params.items()}
    if isinstance(params, list | tuple):
        return [resolve_references(value, outputs) for value in params]
    return params


def walk_schema(schema: Mapping[str, Any], path: tuple[str | int, ...]) -> str | None:
    """None when `path` can exist in data valid against `schema`, else why it cannot."""
    root = schema
    node: Any = schema
    for depth, part in enumerate(path):
        node = _deref(root, node)
        if not isinstance(node, Mapping):
            return None
        branches = node.get("anyOf") or node.get("oneOf")
        if branches:
            rest = path[depth:]
            reasons = [walk_schema({**root, **_deref(root, b)}, rest) for b in branches if isinstance(b, Mapping)]
            return None if any(r is None for r in reasons) else reasons[0]
        kind = node.get("type")
        if isinstance(part, int):
            if kind == "array" or "items" in node:
                node = node.get("items", {})
                continue
            if kind in (None, "object") and not node.get("properties"):
                return None
            return f"{part!r} indexes a value of type {kind}"
        properties = node.get("properties") or {}
        if part in properties:
            node = properties[part]
            continue
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            node = extra
            continue
        if kind is None and not properties:
            return None  # untyped: anything may be there
        if kind == "object" and extra is not False and not properties:
            return None
        known = ", ".join(properties) or "none"
        return f"has no field {part!r} (fields: {known})"
    return None


def _deref(root: Mapping[str, Any], node: Any) -> Any:
    seen = 0
    while isinstance(node, Mapping) and "$ref" in node and seen < 32:
        ref = str(node["$ref"])
        name = ref.rsplit("/", 1)[-1]
        node = root.get("$defs", {}).get(name) or root.get("definitions", {}).get(name) or {}
        seen += 1
    return node
