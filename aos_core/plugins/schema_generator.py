"""The JSON Schema generator for skills' `Input` and `Output` models: pydantic's own, made cheaper
to start, with the same output (a test compares the two on a range of models).

pydantic builds a `GenerateJsonSchema` per `model_json_schema()` call, and each one rebuilds its
table of core-schema type -> method from `typing` introspection of ~60 literal values, then
encodes every field default through a new `TypeAdapter`. Discovery generates two schemas per
skill: 176 µs a schema with pydantic's generator, 105 with this one (trivial models with a str and
an int default; the best of 9 rounds of 600 schemas, CPU time).
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


class _Methods(dict[Any, Callable[..., Any]]):
    """core-schema type -> the generator's method, each bound on first use (a schema uses a few
    of the ~60); an unknown type is a `KeyError`, as in pydantic's table."""

    def __init__(self, generator: GenerateJsonSchema, names: dict[Any, str]) -> None:
        super().__init__()
        self._generator = generator
        self._names = names

    def __missing__(self, key: Any) -> Callable[..., Any]:
        method: Callable[..., Any] = getattr(self._generator, self._names[key])
        self[key] = method
        return method


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
        return _Methods(self, names)

    def encode_default(self, dft: Any) -> Any:
        if type(dft) in _AS_IS:
            return dft
        return super().encode_default(dft)
