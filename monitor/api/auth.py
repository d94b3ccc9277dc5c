"""API-key authentication and role checks.

Keys travel as `Authorization: Bearer <key>` or `X-API-Key: <key>`; both are declared as
security schemes so the OpenAPI document (and clients generated from it) know them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, NamedTuple

from fastapi import HTTPException, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from monitor.apikeys import RANK, authenticate
from monitor.db import transaction

_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer amk_…")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: amk_…")
_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="amlmon"'}


class Caller(NamedTuple):
    name: str  # the key's name: the actor in the alert audit trail
    role: str


def require(role: str) -> Callable[..., Caller]:
    """A dependency admitting keys of `role` or a higher one (viewer < investigator < admin)."""

    def caller(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        header: Annotated[str | None, Security(_header)],
    ) -> Caller:
        presented = bearer.credentials if bearer is not None else header
        if not presented:
            raise HTTPException(401, "missing API key: send 'Authorization: Bearer <key>' or "
                                "'X-API-Key: <key>'", headers=_CHALLENGE)
        with transaction(request.app.state.sessions) as session:
            key = authenticate(session, presented)
            found = None if key is None else Caller(key.name, key.role)
        if found is None:
            raise HTTPException(401, "invalid or revoked API key", headers=_CHALLENGE)
        if RANK[found.role] < RANK[role]:
            raise HTTPException(403, f"this needs the {role} role; key {found.name!r} has "
                                f"the {found.role} role")
        return found

    return caller


viewer = require("viewer")
investigator = require("investigator")
admin = require("admin")
