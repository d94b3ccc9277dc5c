"""What a request to /api/v1 must pass before its body is read: a valid key with the
route's role, and a body no larger than the route's limit.

FastAPI reads the whole body before any dependency runs, so an auth dependency alone
would let anyone make the server take in any upload before answering 401. GuardedRoute
(every router of /api/v1 uses it) therefore checks the key and role first (401/403),
then a declared `Content-Length` over the limit (413), and only then lets FastAPI read,
counting the bytes as they stream in and stopping with 413 as soon as they pass the
limit: a chunked upload is never held beyond the limit plus one chunk.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import HTTPException, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.types import Message, Receive

from monitor.api.auth import authorize

JSON_BODY_BYTES = 64 * 1024  # every JSON body we take is a few hundred bytes
_LIMIT_KEY = "x-max-body-bytes"


def body_limit(size: int) -> dict[str, Any]:
    """`openapi_extra` for a route taking bodies larger than JSON_BODY_BYTES: the limit is
    enforced and shown in the OpenAPI document."""
    return {_LIMIT_KEY: size}


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than this endpoint's limit of "
                              f"{limit:,} bytes")


class GuardedRoute(APIRoute):
    """An APIRoute that authorizes and bounds the body before FastAPI reads it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        role = _required_role(self.dependant, self.path)
        limit = int((self.openapi_extra or {}).get(_LIMIT_KEY, JSON_BODY_BYTES))

        async def guarded(request: Request) -> Response:
            await authorize(request, role)
            declared = request.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > limit:
                raise BodyTooLarge(limit)
            return await handler(Request(request.scope, _limited(request.receive, limit)))

        return guarded


def _required_role(dependant: Dependant, path: str) -> str:
    """The role of the route's auth dependency (auth.require sets it): a route without one
    is refused when the app is built, rather than served open."""
    for dependency in dependant.dependencies:
        role = getattr(dependency.call, "role", None)
        if isinstance(role, str):
            return role
    raise RuntimeError(f"{path}: every /api/v1 route needs a role (Depends(viewer), "
                       "Depends(investigator) or Depends(admin))")


def _limited(receive: Receive, limit: int) -> Receive:
    received = 0

    async def receive_limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > limit:
                raise BodyTooLarge(limit)
        return message

    return receive_limited
