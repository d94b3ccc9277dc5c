"""API-key authentication and role checks.

Keys travel as `Authorization: Bearer <key>` or `X-API-Key: <key>`, or, for browsers, as
the password of HTTP Basic auth (any user name): a browser cannot add headers, but answers
a Basic challenge with a login prompt and then sends the credentials with every request,
so an investigator can open the HTML reports and follow their links. All three are
declared as security schemes so the OpenAPI document (and clients generated from it)
know them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, NamedTuple

from fastapi import HTTPException, Request, Security
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from monitor.apikeys import RANK, authenticate
from monitor.db import transaction

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer amk_…")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: amk_…")


class Unauthorized(HTTPException):
    """A 401 whose answer challenges with every scheme, one WWW-Authenticate line each:
    Chromium reads one challenge per line, so a Basic after a comma would not prompt."""

    CHALLENGES = ('Bearer realm="amlmon"', 'Basic realm="amlmon"')

    def __init__(self, detail: str) -> None:
        super().__init__(401, detail)


class _Basic(HTTPBasic):
    """HTTP Basic whose malformed credentials get our one-line error and challenge."""

    def make_not_authenticated_error(self) -> HTTPException:
        return Unauthorized("malformed Basic credentials: send any user name and the API "
                            "key as the password")


_basic = _Basic(auto_error=False, realm="amlmon", scheme_name="HTTPBasic",
                description="browsers: any user name, the API key as the password")


class Caller(NamedTuple):
    name: str  # the key's name: the actor in the alert audit trail
    role: str


def require(role: str) -> Callable[..., Awaitable[Caller]]:
    """A dependency admitting keys of `role` or a higher one (viewer < investigator <
    supervisor < admin).

    Routes of /api/v1 are GuardedRoutes (monitor.api.guard), which read `role` off this
    dependency and check the key before the body is read; the dependency then finds the
    caller already looked up."""

    async def caller(
        request: Request,
        # Declared so that the OpenAPI document lists the three schemes; authorize() reads
        # the same headers through the same objects.
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header: Annotated[str | None, Security(_header)],
        basic: Annotated[HTTPBasicCredentials | None, Security(_basic)],
    ) -> Caller:
        return await authorize(request, role)

    # GuardedRoute reads the role off the dependency before the body is read; mypy does not
    # type attributes set on a function (the ignore).
    caller.role = role  # type: ignore[attr-defined]
    return caller


async def authorize(request: Request, role: str) -> Caller:
    """The caller behind the request's key if its role is `role` or higher; else 401 (no,
    wrong or revoked key) or 403. The key is looked up once per request."""
    found: Caller | None = getattr(request.state, "caller", None)
    if found is None:
        presented = await _presented(request)
        if not presented:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' or "
                               "'X-API-Key: <key>' (browsers: Basic auth with the key as the "
                               "password)")
        found = await run_in_threadpool(_lookup, request.app.state.sessions, presented)
        if found is None:
            raise Unauthorized("invalid or revoked API key")
        request.state.caller = found
    if RANK[found.role] < RANK[role]:
        raise HTTPException(403, f"this needs the {role} role; key {found.name!r} has "
                            f"the {found.role} role")
    return found


async def _presented(request: Request) -> str | None:
    """The key as sent: Bearer, else X-API-Key, else the Basic password."""
    bearer = await _bearer(request)
    if bearer is not None:
        return bearer.credentials
    header = await _header(request)
    if header:
        return header
    basic = await _basic(request)  # malformed Basic credentials raise Unauthorized
    return basic.password if basic is not None else None


def _lookup(sessions: sessionmaker[Session], presented: str) -> Caller | None:
    with transaction(sessions) as session:
        key = authenticate(session, presented)
        return None if key is None else Caller(key.name, key.role)


viewer = require("viewer")
investigator = require("investigator")
supervisor = require("supervisor")
admin = require("admin")
