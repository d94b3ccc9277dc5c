"""/api/v1/alerts: list with filters and cursor pagination, detail with audit trail, triage."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Alert, AlertEvent, Token
from monitor.addresses import checksum
from monitor.alerts import lifecycle
from monitor.api.auth import Caller, investigator, viewer
from monitor.api.guard import GuardedRoute
from monitor.api.schemas import (
    BIGINT,
    ERRORS,
    Address,
    AlertDetail,
    AlertPage,
    AlertPatch,
    RuleId,
    Severity,
    Status,
    Timestamp,
)
from monitor.db import transaction
from monitor.timefmt import iso
from monitor.tokens import find_token

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], responses=ERRORS,
                   route_class=GuardedRoute)
AlertId = Annotated[int, Path(ge=1, le=BIGINT, description="Alert id")]


@router.get("", response_model=AlertPage)
def list_alerts(
    request: Request,
    _: Annotated[Caller, Depends(viewer)],
    status: Status | None = None,
    severity: Severity | None = None,
    rule: RuleId | None = None,
    token: Annotated[Address | None, Query(description="Token contract address")] = None,
    since: Annotated[Timestamp | None, Query(description="Last seen at or after (ISO-8601; "
                                                        "UTC when no offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(pattern=r"^[1-9][0-9]{0,18}$",
                                        description="next_cursor of the previous page")] = None,
) -> dict[str, Any]:
    """Alerts, newest first. Follow `next_cursor` until it is null."""
    with request.app.state.read_sessions() as session:
        token_id = find_token(session, token).id if token is not None else None
        alerts = lifecycle.list_alerts(
            session, status=status, severity=severity, rule=rule, token_id=token_id,
            since=since, before_id=int(cursor) if cursor else None, limit=limit + 1)
        tokens = _tokens(session)
        page = alerts[:limit]
        return {
            "items": [alert_json(a, tokens[a.token_id]) for a in page],
            "next_cursor": str(page[-1].id) if len(alerts) > limit else None,
        }


@router.get("/{alert_id}", response_model=AlertDetail)
def get_alert(request: Request, alert_id: AlertId,
              _: Annotated[Caller, Depends(viewer)]) -> dict[str, Any]:
    """One alert with its score history and its full audit trail."""
    with request.app.state.read_sessions() as session:
        alert = lifecycle.get_alert(session, alert_id)
        return _detail(session, alert)


@router.patch("/{alert_id}", response_model=AlertDetail)
def update_alert(request: Request, alert_id: AlertId, body: AlertPatch,
                 caller: Annotated[Caller, Depends(investigator)]) -> dict[str, Any]:
    """Triage: move the status forward, add a note, assign. The key's name is the actor."""
    with transaction(request.app.state.sessions) as session:
        alert = lifecycle.update_alert(session, alert_id, actor=caller.name, status=body.status,
                                     note=body.note, assignee=body.assignee,
                                     outcome=body.outcome)
        return _detail(session, alert)


def alert_json(alert: Alert, token: Token) -> dict[str, Any]:
    return {
        "id": alert.id, "status": alert.status, "severity": alert.severity, "rule": alert.rule,
        "score": alert.score, "risk_score": alert.risk_score, "chain_id": token.chain_id,
        "token": checksum(token.address), "address": checksum(alert.address),
        "detail": alert.detail, "evidence": alert.evidence, "assignee": alert.assignee,
        "first_seen_at": iso(alert.first_seen_at), "last_seen_at": iso(alert.last_seen_at),
        "updated_at": iso(alert.updated_at),
    }


def _detail(session: Session, alert: Alert) -> dict[str, Any]:
    token = session.get(Token, alert.token_id)
    assert token is not None  # alerts cascade with their token
    events = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert.id)
                             .order_by(AlertEvent.id))
    return {
        **alert_json(alert, token),
        "score_history": alert.score_history,
        "events": [
            {"at": iso(e.at), "actor": e.actor, "kind": e.kind, "from_status": e.from_status,
             "to_status": e.to_status, "note": e.note, "data": e.data}
            for e in events
        ],
    }


def _tokens(session: Session) -> dict[int, Token]:
    return {t.id: t for t in session.scalars(select(Token))}
