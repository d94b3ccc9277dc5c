"""/api/v1/patterns: the laundering networks scoring found, listed and whole."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from monitor.api.auth import Caller, viewer
from monitor.api.guard import GuardedRoute
from monitor.api.schemas import BIGINT, ERRORS, Address, PatternList, PatternReport
from monitor.reports import html
from monitor.reports import patterns as reports
from monitor.scoring.evaluate import PATTERN_RULES
from monitor.tokens import find_token

router = APIRouter(prefix="/api/v1/patterns", tags=["patterns"], responses=ERRORS,
                   route_class=GuardedRoute)
PatternId = Annotated[int, Path(ge=1, le=BIGINT, description="Pattern id")]
# A Literal of the typologies, built at import time; a type checker sees the string it is.
if TYPE_CHECKING:
    Typology = str
else:
    Typology = Literal[tuple(PATTERN_RULES)]


@router.get("", response_model=PatternList)
def list_patterns(
    request: Request,
    _: Annotated[Caller, Depends(viewer)],
    token: Annotated[Address | None, Query(description="Only this token contract")] = None,
    typology: Annotated[Typology | None, Query(description="Only this typology")] = None,
    status: Literal["active", "retired"] | None = "active",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[int | None, Query(ge=1, le=BIGINT,
                                        description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Patterns, newest first (active ones unless `status` says otherwise). Follow
    `next_cursor` until it is null."""
    with request.app.state.read_sessions() as session:
        token_ids = [find_token(session, token).id] if token is not None else None
        items, following = reports.pattern_page(session, token_ids, typology, status, limit,
                                                cursor)
        return {"items": items, "next_cursor": following}


@router.get("/{pattern_id}", response_model=None, responses={200: {
    "model": PatternReport, "content": {"text/html": {}},
    "description": "JSON (the schema here) or the investigator's HTML page"}})
def get_pattern(
    request: Request,
    pattern_id: PatternId,
    _: Annotated[Caller, Depends(viewer)],
    format: Literal["json", "html"] = "json",
) -> Response:
    """The whole pattern: every member with its role and current risk, its transfers in
    chain order with exact amounts, and (HTML) the picture of its flows."""
    with request.app.state.read_sessions() as session:
        if format == "html":
            return HTMLResponse(html.pattern_page(session, pattern_id))
        return JSONResponse(reports.pattern_report(session, pattern_id))
