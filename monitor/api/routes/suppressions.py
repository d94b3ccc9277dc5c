"""/api/v1/suppressions: list (viewer), create and remove (investigator); audited."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from monitor.api.auth import Caller, investigator, viewer
from monitor.api.guard import GuardedRoute
from monitor.api.schemas import BIGINT, ERRORS, Address
from monitor.api.suppression_schemas import (
    SuppressionChanged,
    SuppressionCreate,
    SuppressionPage,
)
from monitor.db import transaction
from monitor.scoring import rules_file, suppressions

router = APIRouter(prefix="/api/v1/suppressions", tags=["suppressions"], responses=ERRORS,
                   route_class=GuardedRoute)
SuppressionId = Annotated[int, Path(ge=1, le=BIGINT, description="Suppression id")]


@router.get("", response_model=SuppressionPage)
def list_suppressions(
    request: Request,
    _: Annotated[Caller, Depends(viewer)],
    include_all: Annotated[bool, Query(alias="all", description="Expired and removed ones "
                                                                "too")] = False,
    address: Annotated[Address | None, Query(description="Only this address")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,18}$",
                                        description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Suppressions in force (with `all`, every one ever made), newest first. Follow
    `next_cursor` until it is null."""
    with request.app.state.read_sessions() as session:
        rows = suppressions.list_suppressions(
            session, include_all=include_all, address=address,
            before_id=int(cursor) if cursor else None, limit=limit + 1)
        page = rows[:limit]
        return {"items": suppressions.views(session, page),
                "next_cursor": str(page[-1].id) if len(rows) > limit else None}


@router.post("", status_code=201, response_model=SuppressionChanged)
def create_suppression(request: Request, body: SuppressionCreate,
                       caller: Annotated[Caller, Depends(investigator)]) -> dict[str, Any]:
    """Suppress an (address, rule) pair until `until`: no new alert, and its reasons are
    left out of the address's risk (still shown, marked `suppressed`). The address's score
    rows change in the same transaction. A sanctions exposure is refused (409). The key's
    name is the actor."""
    weights = rules_file.load(request.app.state.settings).weights
    with transaction(request.app.state.sessions) as session:
        suppression, rescored = suppressions.add(
            session, address=body.address, rule=body.rule, token=body.token,
            until=body.until, reason=body.reason, actor=caller.name, weights=weights)
        return {**suppressions.views(session, [suppression])[0], "rescored": rescored}


@router.delete("/{suppression_id}", response_model=SuppressionChanged)
def delete_suppression(request: Request, suppression_id: SuppressionId,
                       caller: Annotated[Caller, Depends(investigator)]) -> dict[str, Any]:
    """End a suppression now: the address's reasons count again at once, and its next
    scoring run raises their alerts."""
    weights = rules_file.load(request.app.state.settings).weights
    with transaction(request.app.state.sessions) as session:
        suppression, rescored = suppressions.remove(session, suppression_id,
                                                    actor=caller.name, weights=weights)
        answer = {**suppressions.views(session, [suppression])[0], "rescored": rescored}
    rescreen_soon = request.app.state.rescreen_soon
    if rescored and rescreen_soon is not None:
        rescreen_soon()  # `amlmon api` without a daemon: score the queued addresses now
    return answer
