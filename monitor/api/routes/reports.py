"""/api/v1/reports and /api/v1/addresses: what investigators read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse

from monitor.api.auth import Caller, viewer
from monitor.api.guard import GuardedRoute
from monitor.api.schemas import ERRORS, Address, AddressProfile, AddressReport, FlaggedReport
from monitor.reports import address as address_view
from monitor.reports import export, flagged, html
from monitor.reports.profile import address_profile
from monitor.scoring import rules_file
from monitor.timefmt import now_iso
from monitor.tokens import find_token

router = APIRouter(prefix="/api/v1", tags=["reports"], responses=ERRORS, route_class=GuardedRoute)
PathAddress = Annotated[Address, Path(description="0x… address (EIP-55 checked when mixed case)")]


@router.get("/reports/flagged", response_model=None, responses={200: {
    "model": FlaggedReport, "content": {"text/csv": {}, "text/html": {}},
    "description": "JSON: one page (the schema here; follow `next_cursor`). CSV (the same "
                   "fields) and HTML: the whole report, streamed"}})
def flagged_report(
    request: Request,
    _: Annotated[Caller, Depends(viewer)],
    format: Literal["json", "csv", "html"] = "json",
    token: Annotated[Address | None, Query(description="Only this token contract")] = None,
    min_risk: Annotated[int | None, Query(ge=0, le=100,
                                          description="Default: flag_min_risk")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="Items per JSON page")] = 500,
    cursor: Annotated[str | None, Query(pattern=flagged.CURSOR,
                                        description="next_cursor of the previous page")] = None,
) -> Response:
    """Flagged addresses, highest risk first (docs/reports.md)."""
    threshold = min_risk if min_risk is not None else int(
        rules_file.load(request.app.state.settings).flag_min_risk)
    sessions = request.app.state.read_sessions
    with sessions() as session:
        token_ids = [find_token(session, token).id] if token is not None else None
        if format == "json":
            items, after = flagged.flagged_page(session, token_ids, threshold, limit,
                                                flagged.Cursor.parse(cursor) if cursor else None)
            return JSONResponse({"generated_at": now_iso(), "min_risk": threshold,
                                 "flagged_share": flagged.flagged_shares(session, token_ids,
                                                                         threshold),
                                 "items": items, "next_cursor": after and str(after)})

    def chunks() -> Iterator[str]:  # read while the response streams, a page at a time
        with sessions() as session:
            yield from export.flagged_report(session, token_ids, threshold, format)

    headers = ({"Content-Disposition": 'attachment; filename="flagged.csv"'}
               if format == "csv" else None)
    return StreamingResponse(chunks(), media_type=export.MEDIA_TYPES[format], headers=headers)


@router.get("/reports/address/{address}", response_model=None, responses={200: {
    "model": AddressReport, "content": {"text/html": {}},
    "description": "JSON (the schema here) or the investigator's HTML page"}})
def address_report(
    request: Request,
    address: PathAddress,
    _: Annotated[Caller, Depends(viewer)],
    format: Literal["json", "html"] = "json",
) -> Response:
    """One address on every chain it is active on: risk and reasons per chain and token,
    and its bridge transfers (JSON), or the full investigator page (HTML) with evidence,
    fund-flow pictures (across chains too), counterparties and timeline."""
    with request.app.state.read_sessions() as session:
        if format == "html":
            return HTMLResponse(html.address_page(session, address))
        return JSONResponse(address_view.address_report(session, address))


@router.get("/addresses/{address}", response_model=AddressProfile)
def address_profile_(
    request: Request,
    address: PathAddress,
    _: Annotated[Caller, Depends(viewer)],
    transfers: Annotated[int, Query(ge=0, le=5000, description="Recent transfers to list")] = 100,
    counterparties: Annotated[int, Query(ge=0, le=1000,
                                         description="Largest counterparties to list")] = 25,
) -> dict[str, Any]:
    """Address profile per token: risk, reasons, largest counterparties, recent transfers."""
    with request.app.state.read_sessions() as session:
        return address_profile(session, address, limit=transfers, counterparties=counterparties)
