"""A structural check that a JSON Schema is well formed (the core has no jsonschema dependency).

It checks the keywords pydantic and hand-written schemas use: their value types, that `$ref`s
resolve, that `required` names declared properties, that patterns compile.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

__all__ = ["schema_problems"]

_TYPES = {"string", "number", "integer", "boolean", "object", "array", "null"}
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_VALUES = ("not", "additionalItems", "contains", "propertyNames", "if", "then", "else")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_NON_NEGATIVE = ("minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties")
_NUMBERS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")
_STRINGS = ("title", "description", "format", "$schema", "$id", "$comment", "contentEncoding")


def schema_problems(schema: Any) -> list[str]:
    """Every problem found in `schema`, each with the JSON pointer where it is; [] when it is fine."""
    if not isinstance(schema, dict):
        return ["/: a schema must be a JSON object"]
    defs = {**schema.get("definitions", {}), **schema.get("$defs", {})} if isinstance(schema, dict) else {}
    return list(_check(schema, "", schema, defs))


def _check(node: Any, path: str, root: dict[str, Any], defs: dict[str, Any]) -> Iterator[str]:
    where = path or "/"
    if isinstance(node, bool):
        return
    if not isinstance(node, dict):
        yield f"{where}: a schema must be an object or a boolean, not {type(node).__name__}"
        return
    yield from _check_type(node.get("type"), where) if "type" in node else iter(())
    for key in _SCHEMA_MAPS:
        if key in node:
            value = node[key]
            if not isinstance(value, dict):
                yield f"{where}: '{key}' must be an object"
                continue
            for name, sub in value.items():
                yield from _check(sub, f"{path}/{key}/{name}", root, defs)
    for key in _SCHEMA_LISTS:
        if key in node:
            value = node[key]
            if not isinstance(value, list) or not value:
                yield f"{where}: '{key}' must be a non-empty array of schemas"
                continue
            for index, sub in enumerate(value):
                yield from _check(sub, f"{path}/{key}/{index}", root, defs)
    for key in _SCHEMA_VALUES:
        if key in node:
            yield from _check(node[key], f"{path}/{key}", root, defs)
    if "items" in node:
        items = node["items"]
        subs = items if isinstance(items, list) else [items]
        for index, sub in enumerate(subs):
            yield from _check(sub, f"{path}/items" + (f"/{index}" if isinstance(items, list) else ""), root, defs)
    if "additionalProperties" in node:
        yield from _check(node["additionalProperties"], f"{path}/additionalProperties", root, defs)
    yield from _check_keywords(node, where, defs)


def _check_type(value: Any, where: str) -> Iterator[str]:
    names = value if isinstance(value, list) else [value]
    for name in names:
        if name not in _TYPES:
            yield f"{where}: 'type' {name!r} is not a JSON Schema type ({', '.join(sorted(_TYPES))})"


def _check_keywords(node: dict[str, Any], where: str, defs: dict[str, Any]) -> Iterator[str]:
    if "required" in node:
        required = node["required"]
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            yield f"{where}: 'required' must be an array of property names"
        elif isinstance(node.get("properties"), dict):
            for name in required:
                if name not in node["properties"] and node.get("additionalProperties") is False:
                    yield f"{where}: 'required' names {name!r}, which is not a declared property"
    if "enum" in node and (not isinstance(node["enum"], list) or not node["enum"]):
        yield f"{where}: 'enum' must be a non-empty array"
    for key in _NON_NEGATIVE:
        if key in node and (not isinstance(node[key], int) or isinstance(node[key], bool) or node[key] < 0):
            yield f"{where}: '{key}' must be a non-negative integer"
    for key in _NUMBERS:
        if key in node and (not isinstance(node[key], int | float) or isinstance(node[key], bool)):
            yield f"{where}: '{key}' must be a number"
    for key in _STRINGS:
        if key in node and not isinstance(node[key], str):
            yield f"{where}: '{key}' must be a string"
    if "pattern" in node:
        pattern = node["pattern"]
        if not isinstance(pattern, str):
            yield f"{where}: 'pattern' must be a string"
        else:
            try:
                re.compile(pattern)
            except re.error as exc:
                yield f"{where}: 'pattern' {pattern!r} is not a valid regular expression ({exc})"
    if "$ref" in node:
        ref = node["$ref"]
        if not isinstance(ref, str):
            yield f"{where}: '$ref' must be a string"
        elif ref.startswith(("#/$defs/", "#/definitions/")) and ref.rsplit("/", 1)[-1] not in defs:
            yield f"{where}: '$ref' {ref!r} does not resolve"
