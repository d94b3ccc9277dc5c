"""API-key authentication and role checks.

Keys travel as `Authorization: Bearer <key>` or `X-API-Key: <key>`, or, for browsers, as
the password of HTTP Basic auth (any user name): a browser cannot add headers, but answers
a Basic challenge with a login prompt and then sends the credentials with every request,
so an investigator can open the HTML reports and follow their links. All three are
declared as security schemes so the OpenAPI document (and clients generated from it)
know them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, NamedTuple

from fastapi import HTTPException, Request, Security
from fastapi.security import (
    APIKeyHeader,
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

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


def require(role: str) -> Callable[..., Caller]:
    """A dependency admitting keys of `role` or a higher one (viewer < investigator < admin)."""

    def caller(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header: Annotated[str | None, Security(_header)],
        basic: Annotated[HTTPBasicCredentials | None, Security(_basic)],
    ) -> Caller:
        presented = (bearer.credentials if bearer is not None
                     else header or (basic.password if basic is not None else None))
        if not presented:
            raise Unauthorized("missing API key: send 'Authorization: Bearer <key>' or "
                               "'X-API-Key: <key>' (browsers: Basic auth with the key as the "
                               "password)")
        with transaction(request.app.state.sessions) as session:
            key = authenticate(session, presented)
            found = None if key is None else Caller(key.name, key.role)
        if found is None:
            raise Unauthorized("invalid or revoked API key")
        if RANK[found.role] < RANK[role]:
            raise HTTPException(403, f"this needs the {role} role; key {found.name!r} has "
                                f"the {found.role} role")
        return found

    return caller


viewer = require("viewer")
investigator = require("investigator")
admin = require("admin")
