"""What every route depends on: the service, and the caller the gate authenticated.

Authentication happens in `gate.Gate`, before the body is read, so a request without a valid
key is refused (401) before anything about its body is said. The security schemes declared
here only document the two ways to send a key (`Authorization: Bearer` or `X-API-Key`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from aos_core import ErrorCode
from aos_server.auth import Principal
from aos_server.errors import ApiError
from aos_server.service import Service

__all__ = ["principal", "service_of"]

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer KEY")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: KEY")


def service_of(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def principal(
    request: Request,
    _bearer_key: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)] = None,
    _header_key: Annotated[str | None, Security(_api_key)] = None,
) -> Principal:
    found = request.scope.get("state", {}).get("principal")
    if not isinstance(found, Principal):  # the gate authenticates every /v1 request; this is a bug guard
        raise ApiError(401, ErrorCode.PERMISSION_DENIED, "missing or invalid API key")
    return found
