"""Request bodies as JSON the runtime can carry: at most `MAX_JSON_DEPTH` levels of nesting,
no `NaN` or `Infinity` (Python reads them; JSON has no such tokens, and a plan's `NaN` became
`null`), no integer longer than Python reads.

A plan or parameters nested a few hundred levels deep parse, then fail where the run header or
an outcome is written (pydantic's serializer stops at its depth limit), and a body of 100,000
`[` fails inside the JSON parser: both answered 400 `INVALID_INPUT` here, before anything is
done, with the limit the command line has for its JSON arguments (`aos_core.cli.io`).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

__all__ = ["MAX_JSON_DEPTH", "JsonRoute"]

MAX_JSON_DEPTH = 100  # arrays and objects nested inside each other, the body itself the first
_TOO_DEEP = f"the request body is nested more than {MAX_JSON_DEPTH} levels deep; flatten it"


def _no_constant(name: str) -> Any:
    raise HTTPException(
        400, detail=f"the request body is not valid JSON: {name} is not a JSON value; send a number or null"
    )


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether arrays and objects nest more than `limit` levels (walked without recursion)."""
    stack = [(data, 1)] if isinstance(data, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class _Request(Request):
    """A request whose JSON body is refused (400) past `MAX_JSON_DEPTH` levels."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                data = json.loads(body, parse_constant=_no_constant)
            except RecursionError:
                raise HTTPException(400, detail=_TOO_DEEP) from None
            except UnicodeDecodeError as exc:
                raise HTTPException(400, detail=f"the request body is not UTF-8 text (byte {exc.start})") from None
            except ValueError as exc:  # JSONDecodeError goes on to FastAPI, which says where
                if isinstance(exc, json.JSONDecodeError) or "digits" not in str(exc):
                    raise
                raise HTTPException(
                    400,
                    detail=f"the request body has an integer longer than {sys.get_int_max_str_digits()} digits; "
                    "send such a number as a string",
                ) from None
            if _deeper_than(data, MAX_JSON_DEPTH):
                raise HTTPException(400, detail=_TOO_DEEP)
            self._json = data
        return self._json


class JsonRoute(APIRoute):
    """The route class of every /v1 router: its handler reads the body through `_Request`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            return await handler(_Request(request.scope, request.receive))

        return route
