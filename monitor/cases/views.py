"""Cases as the API, the CLI's JSON and the case report show them: a summary per list row,
and the whole case with its links, notes and audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import (
    Alert,
    AuditEvent,
    Case,
    CaseAddress,
    CaseAlert,
    CasePattern,
    Pattern,
    Token,
)
from monitor.addresses import checksum
from monitor.cases.notes import notes
from monitor.timefmt import iso


def summaries(session: Session, cases: Sequence[Case]) -> list[dict[str, Any]]:
    """List rows, with how many alerts, patterns and addresses each case links (counted
    for the page at once)."""
    ids = [case.id for case in cases]
    counts = {name: dict(session.execute(
        select(table.case_id, func.count()).where(table.case_id.in_(ids))
        .group_by(table.case_id)).all()) if ids else {}
        for name, table in (("alert_count", CaseAlert), ("pattern_count", CasePattern),
                            ("address_count", CaseAddress))}
    return [{**_fields(case), **{name: found.get(case.id, 0) for name, found in counts.items()}}
            for case in cases]


def detail(session: Session, case: Case) -> dict[str, Any]:
    """The whole case: fields, narrative, linked alerts, patterns and addresses, notes and
    the audit trail, oldest first."""
    alerts = session.execute(
        select(Alert, Token, CaseAlert.active)
        .join(CaseAlert, CaseAlert.alert_id == Alert.id).join(Token, Token.id == Alert.token_id)
        .where(CaseAlert.case_id == case.id).order_by(Alert.id)).all()
    patterns = session.execute(
        select(Pattern, Token).join(CasePattern, CasePattern.pattern_id == Pattern.id)
        .join(Token, Token.id == Pattern.token_id)
        .where(CasePattern.case_id == case.id).order_by(Pattern.id)).all()
    addresses = session.scalars(select(CaseAddress.address)
                                .where(CaseAddress.case_id == case.id)
                                .order_by(CaseAddress.address))
    return {
        **_fields(case),
        "narrative": case.narrative,
        "alerts": [{
            "id": alert.id, "rule": alert.rule, "status": alert.status,
            "severity": alert.severity, "risk_score": alert.risk_score,
            "outcome": alert.outcome, "chain_id": token.chain_id,
            "token": checksum(token.address), "address": checksum(alert.address),
            "detail": alert.detail, "active": active,
        } for alert, token, active in alerts],
        "patterns": [{
            "id": pattern.id, "typology": pattern.typology, "status": pattern.status,
            "score": pattern.score, "title": pattern.title, "chain_id": token.chain_id,
            "token": checksum(token.address), "member_count": pattern.member_count,
        } for pattern, token in patterns],
        "addresses": [checksum(address) for address in addresses],
        "notes": [{"id": note.id, "at": iso(note.at), "actor": note.actor, "text": note.text}
                  for note in notes(session, case.id)],
        "trail": [{"id": event.id, "at": iso(event.at), "actor": event.actor,
                   "action": event.action, "before": event.before, "after": event.after,
                   "note": event.note} for event in trail(session, case.id)],
    }


def trail(session: Session, case_id: int) -> list[AuditEvent]:
    """Every audit row of the case, oldest first."""
    return list(session.scalars(select(AuditEvent).where(AuditEvent.object_type == "case",
                                                         AuditEvent.object_id == str(case_id))
                                .order_by(AuditEvent.id)))


def _fields(case: Case) -> dict[str, Any]:
    return {
        "id": case.id, "title": case.title, "priority": case.priority, "status": case.status,
        "outcome": case.outcome, "assignee": case.assignee, "due_at": iso(case.due_at),
        "proposed_outcome": case.proposed_outcome, "proposed_by": case.proposed_by,
        "approved_by": case.approved_by, "created_by": case.created_by,
        "created_at": iso(case.created_at), "updated_at": iso(case.updated_at),
        "closed_at": iso(case.closed_at),
    }
