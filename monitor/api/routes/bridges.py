"""/api/v1/bridge-transfers: bridge transfers linked across chains (viewer)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from monitor.api.auth import Caller, viewer
from monitor.api.bridge_schemas import BridgeTransferPage
from monitor.api.guard import GuardedRoute
from monitor.api.schemas import ERRORS, Address
from monitor.bridges.linking import list_transfers
from monitor.reports.bridges import bridge_items

router = APIRouter(prefix="/api/v1/bridge-transfers", tags=["bridges"], responses=ERRORS,
                   route_class=GuardedRoute)


@router.get("", response_model=BridgeTransferPage)
def list_bridge_transfers(
    request: Request,
    _: Annotated[Caller, Depends(viewer)],
    status: Annotated[Literal["pending", "linked", "unmatched"] | None,
                      Query(description="Only this status")] = None,
    address: Annotated[Address | None, Query(description="Only transfers this address sent "
                                                         "or received")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,18}$",
                                        description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Bridge transfers newest first. Follow `next_cursor` until it is null."""
    with request.app.state.read_sessions() as session:
        rows = list_transfers(session, status=status, address=address,
                              before_id=int(cursor) if cursor else None, limit=limit + 1)
        page = rows[:limit]
        return {"items": bridge_items(session, page),
                "next_cursor": str(page[-1].id) if len(rows) > limit else None}
