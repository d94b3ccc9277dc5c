"""/api/v1/cases: investigations, from opening to the approved close, and their reports."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from monitor.api.auth import Caller, investigator, supervisor, viewer
from monitor.api.case_schemas import (
    CaseCreate,
    CaseDecision,
    CaseDetail,
    CasePage,
    CasePatch,
    CaseStatus,
    Priority,
)
from monitor.api.guard import GuardedRoute
from monitor.api.schemas import BIGINT, ERRORS, Text
from monitor.cases import lifecycle, service, views
from monitor.cases.goaml import build_str, price_pairs
from monitor.db import transaction
from monitor.errors import UserError
from monitor.reports.cases import case_page

router = APIRouter(prefix="/api/v1/cases", tags=["cases"], responses=ERRORS,
                   route_class=GuardedRoute)
CaseId = Annotated[int, Path(ge=1, le=BIGINT, description="Case id")]


@router.get("", response_model=CasePage)
def list_cases(
    request: Request,
    _: Annotated[Caller, Depends(viewer)],
    status: CaseStatus | None = None,
    assignee: Annotated[Annotated[str, Text(128, 1)] | None, Query()] = None,
    priority: Priority | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,18}$",
                                        description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Cases, newest first. Follow `next_cursor` until it is null."""
    with request.app.state.read_sessions() as session:
        cases = service.list_cases(session, status=status, assignee=assignee,
                                   priority=priority, before_id=int(cursor) if cursor else None,
                                   limit=limit + 1)
        page = cases[:limit]
        return {"items": views.summaries(session, page),
                "next_cursor": str(page[-1].id) if len(cases) > limit else None}


@router.post("", response_model=CaseDetail, status_code=201)
def open_case(request: Request, body: CaseCreate,
              caller: Annotated[Caller, Depends(investigator)]) -> dict[str, Any]:
    """Open a case from alerts, patterns and/or addresses. 409 when one of the alerts is
    already in an open case (an alert belongs to at most one)."""
    with transaction(request.app.state.sessions) as session:
        case = service.open_case(
            session, actor=caller.name, title=body.title, alert_ids=body.alerts,
            pattern_ids=body.patterns, addresses=body.addresses, narrative=body.narrative,
            priority=body.priority, due_at=body.due_at, assignee=body.assignee)
        return views.detail(session, case)


@router.get("/{case_id}", response_model=CaseDetail)
def get_case(request: Request, case_id: CaseId,
             _: Annotated[Caller, Depends(viewer)]) -> dict[str, Any]:
    """The whole case: links, notes and its audit trail."""
    with request.app.state.read_sessions() as session:
        return views.detail(session, service.get_case(session, case_id))


@router.patch("/{case_id}", response_model=CaseDetail)
def update_case(request: Request, case_id: CaseId, body: CasePatch,
                caller: Annotated[Caller, Depends(investigator)]) -> dict[str, Any]:
    """Change fields, move to investigating, add a note, propose the close. 409 on a closed
    case, and on anything but a note while the close waits for approval."""
    with transaction(request.app.state.sessions) as session:
        case = service.update_case(session, case_id, actor=caller.name,
                                   changes=body.changes(), status=body.status, note=body.note,
                                   propose=body.propose)
        return views.detail(session, case)


@router.post("/{case_id}/approve", response_model=CaseDetail)
def approve_case(request: Request, case_id: CaseId, body: CaseDecision,
                 caller: Annotated[Caller, Depends(supervisor)]) -> dict[str, Any]:
    """Approve the proposed close (the case and its alerts close with the outcome) or send
    it back (`approve: false` with a note). 403 for the key that proposed the close."""
    with transaction(request.app.state.sessions) as session:
        try:
            case = lifecycle.decide(session, case_id, actor=caller.name, approve=body.approve,
                                    note=body.note)
        except lifecycle.SelfApproval as exc:
            raise HTTPException(403, str(exc)) from None
        return views.detail(session, case)


@router.get("/{case_id}/report", response_model=None, responses={200: {
    "content": {"text/html": {}, "application/xml": {}},
    "description": "html: the case report, one self-contained page; goaml: the goAML "
                   "suspicious-transaction report, validated against the schema"}})
def case_report(
    request: Request, case_id: CaseId, _: Annotated[Caller, Depends(viewer)],
    format: Literal["html", "goaml"] = "html",
    price: Annotated[list[str] | None, Query(
        max_length=100, description="goaml: TOKEN=PRICE, one whole token's price in the local "
        "currency (repeatable; else the configured reporting_entity.prices)")] = None,
) -> Response:
    """The case as a page (narrative, decision trail, flow pictures, reasons, transfers) or
    as a goAML STR. 400 naming the element when the STR would be invalid (e.g. an unset
    `reporting_entity` key, a token without a price)."""
    settings = request.app.state.settings
    if price and format != "goaml":
        raise UserError("price: only for format=goaml")
    prices = price_pairs(price or [], "price")
    with request.app.state.read_sessions() as session:
        if format == "html":
            return HTMLResponse(case_page(session, case_id))
        body = build_str(session, case_id, settings.reporting_entity, prices,
                         schema=settings.goaml_schema)
    return Response(body, media_type="application/xml", headers={
        "Content-Disposition": f'attachment; filename="case-{case_id}-str.xml"'})
