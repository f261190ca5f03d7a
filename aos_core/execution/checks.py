"""Checks at the edges of a call: parameters in, output out.

Both take anything (a plugin's model may raise whatever it likes in a validator, an output may
hold an int of ten thousand digits) and answer with a value or an `ErrorInfo`, never an exception.
"""

from __future__ import annotations

from typing import Any

import pydantic_core
from pydantic import ValidationError

from aos_core.contracts.errors import ErrorCode, ErrorInfo, make_error
from aos_core.contracts.text import non_unicode

__all__ = ["check_output", "validate_input", "validation_errors"]

_SHOWN_ERRORS = 3
_MAX_LOC = 120  # a path into deeply nested input is cut: nobody reads 2 KB of `data.list.0.list.0...`


def validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    """Pydantic errors as `{loc, msg, type}` with dotted paths and no input values (they may hold secrets)."""
    found = []
    for error in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(p) for p in error["loc"])
        if len(loc) > _MAX_LOC:
            loc = f"{loc[:40]}...{loc[-60:]}"
        found.append({"loc": loc, "msg": error["msg"], "type": error["type"]})
    return found


def _summary(errors: list[dict[str, str]], empty: str) -> str:
    shown = "; ".join(f"{e['loc'] or empty}: {e['msg']}" for e in errors[:_SHOWN_ERRORS])
    more = len(errors) - _SHOWN_ERRORS
    return shown + (f" (+{more} more)" if more > 0 else "")


def validate_input(validate: Any, name: str, params: Any) -> tuple[Any, ErrorInfo | None]:
    """The skill's `Input` model built from `params`, or `SCHEMA_VALIDATION_FAILED`."""
    try:
        return validate(params), None
    except ValidationError as exc:
        errors = validation_errors(exc)
        message = f"params do not fit {name}'s input schema: {_summary(errors, '(params)')}"
        return None, make_error(ErrorCode.SCHEMA_VALIDATION_FAILED, message, details={"errors": errors})
    except (ValueError, TypeError, RecursionError, ArithmeticError) as exc:
        message = f"params do not fit {name}'s input schema: its validator raised {type(exc).__name__}"
        return None, make_error(ErrorCode.SCHEMA_VALIDATION_FAILED, message, details={"errors": []})


def _lone_surrogate(model: Any) -> str | None:
    """Where the output model holds a string UTF-8 cannot encode (`output.FIELD...`), if it does."""
    try:
        return non_unicode(model.model_dump(), "output")
    except Exception:  # noqa: BLE001 - a model that cannot even dump itself: no place to name
        return None


def check_output(validate: Any, name: str, value: Any, max_output_bytes: int) -> tuple[Any, ErrorInfo | None]:
    """The output as JSON data after it passed the skill's `Output` model (`validate`, its
    validator's `validate_python`) and the size limit."""
    model = None
    try:
        model = validate(value)
        raw = model.__pydantic_serializer__.to_json(model)
        if len(raw) > max_output_bytes:
            return None, make_error(
                ErrorCode.OUTPUT_VALIDATION_FAILED,
                f"{name} returned {len(raw)} bytes of output, over the limit of {max_output_bytes}",
                details={"size": len(raw), "limit": max_output_bytes},
            )
        return pydantic_core.from_json(raw), None
    except ValidationError as exc:
        errors = validation_errors(exc)
        return None, make_error(
            ErrorCode.OUTPUT_VALIDATION_FAILED,
            f"{name} returned output that does not fit its output schema: {_summary(errors, '(output)')}",
            details={"errors": errors},
        )
    except (pydantic_core.PydanticSerializationError, ValueError, TypeError, RecursionError, ArithmeticError) as exc:
        where = _lone_surrogate(model) if "surrogate" in str(exc) else None
        if where is not None:  # most often the skill passed on a string it was given
            return None, make_error(
                ErrorCode.OUTPUT_VALIDATION_FAILED,
                f"{name} returned output that is not JSON-serialisable: the string at {where} holds a lone "
                "surrogate (a code point in U+D800-U+DFFF), which UTF-8 cannot encode; check the parameters "
                "for such a string",
                details={"field": where},
            )
        return None, make_error(
            ErrorCode.OUTPUT_VALIDATION_FAILED,
            f"{name} returned output that is not JSON-serialisable: {type(exc).__name__}",
        )
