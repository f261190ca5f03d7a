"""Hypothesis strategies from JSON Schema: values a schema accepts, and parameters it refuses.

Covers what pydantic generates: types (string, integer, number, boolean, null, array, object),
`enum`, `const`, `anyOf`/`oneOf`/`allOf`, `$ref` into `$defs`, length, size and range limits,
`pattern`, a few `format`s, `required` and `additionalProperties`; and what a model adds to say
which fields go together: an object's `anyOf`/`oneOf` of branches that add `required` fields or
narrow `properties` (each branch merged into the object), and `not: {"required": [...]}` (those
fields never all present). Needs hypothesis (the `aos-core[testing]` extra).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from datetime import UTC
from typing import Any

from hypothesis import strategies as st

__all__ = ["UNEXPECTED_FIELD", "from_schema", "invalid_params", "json_values"]

UNEXPECTED_FIELD = "__aos_unexpected_field__"
_MAX_STRING = 24  # sizes are capped so that examples stay small and fast
_MAX_ITEMS = 4
_WRONG: dict[str, Any] = {
    "object": {"unexpected": {"nested": True}},
    "string": "\x00wrong type\x00",
    "array": [{"unexpected": 1}],
    "boolean": True,
}


def json_values() -> st.SearchStrategy[Any]:
    """Any small JSON value."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(10**6), 10**6)
        | st.floats(allow_nan=False, allow_infinity=False, width=32)
        | st.text(max_size=12)
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
        max_leaves=8,
    )


def from_schema(schema: Mapping[str, Any] | bool) -> st.SearchStrategy[Any]:
    """Values valid under `schema` (a root schema whose `$defs` hold its references)."""
    defs = _defs(schema)
    return _Builder(defs).build(schema)


def invalid_params(schema: Mapping[str, Any]) -> st.SearchStrategy[tuple[str, Any]]:
    """`(what, params)` pairs the object schema refuses: not an object, a required field
    missing, a field of a wrong type, an unknown field (when `additionalProperties` is false).
    """
    builder = _Builder(_defs(schema))
    root = builder.resolve(schema)
    valid = builder.build(schema)
    not_objects: list[Any] = [[], "text", 5]
    options: list[st.SearchStrategy[tuple[str, Any]]] = [
        st.sampled_from([("params that are not an object", value) for value in not_objects])
    ]
    if not isinstance(root, Mapping) or not isinstance(valid_props := root.get("properties"), Mapping):
        return st.one_of(options)
    required = [name for name in root.get("required", []) if name in valid_props]
    if required:
        options.append(
            st.tuples(valid, st.sampled_from(required)).map(
                lambda pair: (f"params missing the required field {pair[1]!r}", _without(pair[0], pair[1]))
            )
        )
    wrong = {name: v for name, sub in valid_props.items() if (v := builder.wrong_value(sub)) is not None}
    if wrong:
        options.append(
            st.tuples(valid, st.sampled_from(sorted(wrong))).map(
                lambda pair: (f"params with field {pair[1]!r} of a wrong type", {**pair[0], pair[1]: wrong[pair[1]]})
            )
        )
    if root.get("additionalProperties") is False:
        options.append(valid.map(lambda params: ("params with an unknown field", {**params, UNEXPECTED_FIELD: 1})))
    return st.one_of(options)


def _defs(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        return {}
    return {**schema.get("definitions", {}), **schema.get("$defs", {})}


def _without(params: dict[str, Any], name: str) -> dict[str, Any]:
    return {key: value for key, value in params.items() if key != name}


class _Builder:
    def __init__(self, defs: dict[str, Any]) -> None:
        self.defs = defs
        self.refs: dict[str, st.SearchStrategy[Any]] = {}

    def resolve(self, node: Any, depth: int = 0) -> Any:
        """Follow `$ref` (and a lone `allOf`) to the schema it names."""
        while isinstance(node, Mapping) and depth < 32:
            depth += 1
            if "$ref" in node:
                node = self.defs.get(str(node["$ref"]).rsplit("/", 1)[-1], {})
            elif list(node) == ["allOf"] and len(node["allOf"]) == 1:
                node = node["allOf"][0]
            else:
                break
        return node

    def build(self, node: Any) -> st.SearchStrategy[Any]:
        if node is True or node == {}:
            return json_values()
        if node is False or not isinstance(node, Mapping):
            return st.nothing()
        if "$ref" in node:
            name = str(node["$ref"]).rsplit("/", 1)[-1]
            if name not in self.refs:
                self.refs[name] = st.deferred(lambda: self.build(self.defs.get(name, {})))
            return self.refs[name]
        if "const" in node:
            return st.just(node["const"])
        if "enum" in node:
            return st.sampled_from(list(node["enum"]))
        for key in ("anyOf", "oneOf"):
            if key in node and ("properties" in node or node.get("type") == "object"):
                base = {k: v for k, v in node.items() if k != key}
                return st.one_of([self.build(_merged(base, self.resolve(sub))) for sub in node[key]])
            if key in node:
                return st.one_of([self.build(sub) for sub in node[key]])
        if "allOf" in node:
            merged: dict[str, Any] = {k: v for k, v in node.items() if k != "allOf"}
            for sub in node["allOf"]:
                merged.update(self.resolve(sub) if isinstance(sub, Mapping) else {})
            return self.build(merged)
        kind = node.get("type")
        if isinstance(kind, list):
            return st.one_of([self.build({**node, "type": one}) for one in kind])
        builders: dict[str, Any] = {
            "string": self._string,
            "integer": self._integer,
            "number": self._number,
            "boolean": lambda n: st.booleans(),
            "null": lambda n: st.none(),
            "array": self._array,
            "object": self._object,
        }
        builder = builders.get(kind) if isinstance(kind, str) else None
        if builder is None:
            return self._object(node) if "properties" in node else json_values()
        return builder(node)

    def _string(self, node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
        low = node.get("minLength", 0)
        high = node.get("maxLength", max(low, _MAX_STRING))
        fmt = node.get("format")
        if fmt in _FORMATS:
            return _FORMATS[fmt]().filter(lambda s: low <= len(s) <= high)
        if "pattern" in node:
            return st.from_regex(node["pattern"], fullmatch=True).filter(lambda s: low <= len(s) <= high)
        return st.text(min_size=low, max_size=min(high, max(low, _MAX_STRING)))

    def _integer(self, node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
        low, high = node.get("minimum"), node.get("maximum")
        if "exclusiveMinimum" in node:
            low = math.floor(node["exclusiveMinimum"]) + 1
        if "exclusiveMaximum" in node:
            high = math.ceil(node["exclusiveMaximum"]) - 1
        low = None if low is None else math.ceil(low)
        high = None if high is None else math.floor(high)
        multiple = node.get("multipleOf")
        if isinstance(multiple, int) and multiple > 0:
            first = None if low is None else -(-low // multiple)
            last = None if high is None else high // multiple
            return st.integers(first, last).map(lambda n: n * multiple)
        return st.integers(low, high)

    def _number(self, node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
        low = node.get("exclusiveMinimum", node.get("minimum"))
        high = node.get("exclusiveMaximum", node.get("maximum"))
        return st.floats(
            min_value=low,
            max_value=high,
            exclude_min="exclusiveMinimum" in node,
            exclude_max="exclusiveMaximum" in node,
            allow_nan=False,
            allow_infinity=False,
        )

    def _array(self, node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
        low = node.get("minItems", 0)
        high = node.get("maxItems", max(low, _MAX_ITEMS))
        high = min(high, max(low, _MAX_ITEMS))
        if "prefixItems" in node:
            head = st.tuples(*(self.build(sub) for sub in node["prefixItems"])).map(list)
            if node.get("items") is False or "items" not in node:
                return head
            rest = st.lists(self.build(node["items"]), max_size=max(0, high - len(node["prefixItems"])))
            return st.tuples(head, rest).map(lambda pair: pair[0] + pair[1])
        items = self.build(node.get("items", True))
        if node.get("uniqueItems"):
            return st.lists(items, min_size=low, max_size=high, unique_by=_canonical)
        return st.lists(items, min_size=low, max_size=high)

    def _object(self, node: Mapping[str, Any]) -> st.SearchStrategy[Any]:
        props: Mapping[str, Any] = node.get("properties", {})
        required = set(node.get("required", ()))
        apart = [set(n["required"]) for n in _nots(node) if isinstance(n, Mapping) and "required" in n]
        absent = {name for group in apart if len(group) == 1 for name in group}  # `not` one field: never there
        if props:
            values = st.fixed_dictionaries(
                {name: self.build(sub) for name, sub in props.items() if name in required},
                optional={name: self.build(sub) for name, sub in props.items() if name not in required | absent},
            )
            together = [group for group in apart if len(group) > 1]
            return values.filter(lambda d: not any(group <= d.keys() for group in together)) if together else values
        extra = node.get("additionalProperties", True)
        if extra is False:
            return st.just({})
        low = node.get("minProperties", 0)
        high = min(node.get("maxProperties", _MAX_ITEMS), max(low, _MAX_ITEMS))
        keys = self._string(node["propertyNames"]) if isinstance(node.get("propertyNames"), Mapping) else None
        return st.dictionaries(keys or st.text(max_size=8), self.build(extra), min_size=low, max_size=high)

    def wrong_value(self, node: Any) -> Any:
        """A JSON value this schema refuses and pydantic will not coerce; None when anything goes."""
        allowed = self._types(node)
        if allowed is None:
            return None
        for kind, value in _WRONG.items():
            if kind not in allowed:
                return value
        return None

    def _types(self, node: Any, depth: int = 0) -> set[str] | None:
        node = self.resolve(node)
        if not isinstance(node, Mapping) or depth > 8:
            return None
        if "const" in node or "enum" in node:
            values = [node["const"]] if "const" in node else list(node["enum"])
            return {_json_type(v) for v in values}
        for key in ("anyOf", "oneOf"):
            if key in node:
                union: set[str] = set()
                for sub in node[key]:
                    types = self._types(sub, depth + 1)
                    if types is None:
                        return None
                    union |= types
                return union
        kind = node.get("type")
        if kind is None:
            return {"object"} if "properties" in node else None
        kinds = set(kind) if isinstance(kind, list) else {kind}
        if "number" in kinds:
            kinds.add("integer")
        return kinds


def _merged(base: Mapping[str, Any], branch: Any) -> dict[str, Any]:
    """An object schema with one `anyOf`/`oneOf` branch folded in: required fields added, the
    branch's properties narrowing the object's, its `not` kept beside the object's."""
    merged = dict(base)
    if not isinstance(branch, Mapping):
        return merged
    merged["required"] = [*base.get("required", ()), *branch.get("required", ())]
    merged["properties"] = {**base.get("properties", {}), **branch.get("properties", {})}
    nots = [*_nots(base), *_nots(branch)]
    if nots:
        merged["not"] = {"anyOf": nots}
    return merged


def _nots(node: Mapping[str, Any]) -> list[Any]:
    """The schemas an object must not match (`not`, or each branch of a `not: {anyOf: [...]}`)."""
    found = node.get("not")
    if isinstance(found, Mapping) and list(found) == ["anyOf"]:
        return list(found["anyOf"])
    return [found] if found is not None else []


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _uri() -> st.SearchStrategy[str]:
    host = st.from_regex(r"[a-z][a-z0-9]{0,10}\.(com|org|test)", fullmatch=True)
    path = st.from_regex(r"(/[a-z0-9]{0,8}){0,3}", fullmatch=True)
    return st.builds(lambda h, p, s: f"{s}://{h}{p}", host, path, st.sampled_from(["http", "https"]))


_FORMATS: dict[str, Any] = {
    "date-time": lambda: st.datetimes(timezones=st.just(UTC)).map(lambda d: d.isoformat()),
    "date": lambda: st.dates().map(lambda d: d.isoformat()),
    "time": lambda: st.times().map(lambda t: t.isoformat()),
    "uuid": lambda: st.uuids().map(str),
    "email": st.emails,
    "uri": _uri,
    "ipv4": lambda: st.ip_addresses(v=4).map(str),
    "ipv6": lambda: st.ip_addresses(v=6).map(str),
}
