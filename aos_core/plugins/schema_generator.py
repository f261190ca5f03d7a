"""The JSON Schema generator for skills' `Input` and `Output` models: pydantic's own, made cheaper
to start, with the same output (a test compares the two on a range of models).

pydantic builds a `GenerateJsonSchema` per `model_json_schema()` call, and each one rebuilds its
table of core-schema type -> method from `typing` introspection of ~60 literal values, then
encodes every field default through a new `TypeAdapter`. Discovery generates two schemas per
skill: with 300 plugins, 168 µs a schema with pydantic's generator, 110 with this one (a trivial
model with two defaults; min of 7 rounds of 600 schemas, CPU time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from pydantic.json_schema import GenerateJsonSchema

__all__ = ["SkillSchemaGenerator"]

# Defaults that pydantic's `encode_default` returns unchanged (a `TypeAdapter` of their own type
# dumps them as they are, whatever the model's config); exact types only: a subclass may dump
# otherwise.
_AS_IS = frozenset({str, int, bool, type(None)})


class SkillSchemaGenerator(GenerateJsonSchema):
    """`GenerateJsonSchema` with its method table built once per class, and plain defaults
    (str, int, bool, None) written as they are."""

    _method_names: ClassVar[dict[type, dict[str, str]]] = {}

    def build_schema_type_to_method(self) -> dict[Any, Callable[..., Any]]:
        cls = type(self)
        names = SkillSchemaGenerator._method_names.get(cls)
        if names is None:
            names = {key: method.__name__ for key, method in super().build_schema_type_to_method().items()}
            SkillSchemaGenerator._method_names[cls] = names
        return {key: getattr(self, name) for key, name in names.items()}

    def encode_default(self, dft: Any) -> Any:
        if type(dft) in _AS_IS:
            return dft
        return super().encode_default(dft)
