"""/api/v1/audit: the audit log of keys, tokens, watchlists, suppressions, cases and
configuration reloads (admin)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from monitor import audit
from monitor.api.audit_schemas import AuditPage
from monitor.api.auth import Caller, admin
from monitor.api.guard import GuardedRoute
from monitor.api.schemas import BIGINT, ERRORS, Text, Timestamp

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], responses=ERRORS,
                   route_class=GuardedRoute)


@router.get("", response_model=AuditPage)
def list_audit(
    request: Request,
    _: Annotated[Caller, Depends(admin)],
    object_type: Annotated[Annotated[str, Text(32, 1)] | None,
                           Query(description="key, token, watchlist, suppression, case, "
                                             "config …")] = None,
    object_id: Annotated[Annotated[str, Text(128, 1)] | None,
                         Query(description="The object's id or name")] = None,
    actor: Annotated[Annotated[str, Text(128, 1)] | None, Query()] = None,
    since: Annotated[Timestamp | None, Query(description="At or after (ISO-8601; UTC when "
                                                        "no offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[int | None, Query(ge=1, le=BIGINT,
                                        description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Audit rows, newest first, filtered. Follow `next_cursor` until it is null."""
    with request.app.state.read_sessions() as session:
        rows = audit.events(session, object_type=object_type, object_id=object_id,
                            actor=actor, since=since, before_id=cursor, limit=limit + 1)
        page = rows[:limit]
        return {"items": [audit.as_json(event) for event in page],
                "next_cursor": page[-1].id if len(rows) > limit else None}
