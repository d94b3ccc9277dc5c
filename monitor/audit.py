"""The audit log: every change of keys, tokens, watchlists, suppressions, cases and
configuration reloads, as append-only rows with actor, time, object and before/after.

Data functions take the caller's session and never commit: an audit row commits in the
same transaction as the change it records, or not at all.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent
from monitor.timefmt import iso

# The actor of what the monitor does on its own (a configuration reload) and of changes
# made by code with no person behind it (the demo, fixtures).
SYSTEM = "amlmon"


def record(session: Session, actor: str, action: str, object_type: str, object_id: Any,
           before: dict[str, Any] | None = None, after: dict[str, Any] | None = None,
           note: str | None = None) -> AuditEvent:
    """Append one audit row (`action`: what happened, e.g. "case.update"; `before` and
    `after`: the object's recorded fields, JSON-serialisable, None for a create or a
    delete)."""
    event = AuditEvent(actor=actor, action=action, object_type=object_type,
                       object_id=str(object_id), before=before, after=after, note=note)
    session.add(event)
    session.flush()
    return event


def events(session: Session, *, object_type: str | None = None, object_id: str | None = None,
           actor: str | None = None, since: datetime | None = None,
           before_id: int | None = None, limit: int = 100) -> list[AuditEvent]:
    """Audit rows newest first, filtered; `before_id` pages (the last id of the page before)."""
    statement = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if object_type is not None:
        statement = statement.where(AuditEvent.object_type == object_type)
    if object_id is not None:
        statement = statement.where(AuditEvent.object_id == object_id)
    if actor is not None:
        statement = statement.where(AuditEvent.actor == actor)
    if since is not None:
        statement = statement.where(AuditEvent.at >= since)
    if before_id is not None:
        statement = statement.where(AuditEvent.id < before_id)
    return list(session.scalars(statement))


def as_json(event: AuditEvent) -> dict[str, Any]:
    return {"id": event.id, "at": iso(event.at), "actor": event.actor, "action": event.action,
            "object_type": event.object_type, "object_id": event.object_id,
            "before": event.before, "after": event.after, "note": event.note}
