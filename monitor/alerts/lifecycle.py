"""The triage lifecycle of alerts, and their outcomes: the database alone.

Lifecycle: open → acknowledged → escalated → dismissed | reported (each step may be
skipped forward; nothing goes back). Every change writes an AlertEvent with actor, time
and note. Closing sets the outcome (`close_alert`: reported, false_positive or
inconclusive), which cases use too and rule statistics read. Callers own the transaction.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from models import Alert, AlertEvent
from models.alerts import ALERT_STATUSES, CLOSED_STATUSES
from monitor import metrics
from monitor.errors import Conflict, NotFound, UserError
from monitor.labels import outcomes

TRANSITIONS: dict[str, set[str]] = {
    "open": {"acknowledged", "escalated", "dismissed", "reported"},
    "acknowledged": {"escalated", "dismissed", "reported"},
    "escalated": {"dismissed", "reported"},
    "dismissed": set(),
    "reported": set(),
    "retracted": set(),
}


def list_alerts(
    session: Session, *, status: str | None = None, severity: str | None = None,
    rule: str | None = None, token_id: int | None = None, since: datetime | None = None,
    before_id: int | None = None, limit: int = 50,
) -> list[Alert]:
    """Newest first; page with `before_id` = the last id of the previous page."""
    if status is not None and status not in ALERT_STATUSES:
        raise UserError(f"unknown status {status!r}; one of {', '.join(ALERT_STATUSES)}")
    query = select(Alert).order_by(Alert.id.desc()).limit(max(1, min(limit, 1000)))
    if status is not None:
        query = query.where(Alert.status == status)
    if severity is not None:
        query = query.where(Alert.severity == severity)
    if rule is not None:
        query = query.where(Alert.rule == rule)
    if token_id is not None:
        query = query.where(Alert.token_id == token_id)
    if since is not None:
        query = query.where(Alert.last_seen_at >= since)
    if before_id is not None:
        query = query.where(Alert.id < before_id)
    return list(session.scalars(query))


def get_alert(session: Session, alert_id: int) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise NotFound(f"alert {alert_id} not found")
    return alert


def alert_events(session: Session, alert_id: int) -> list[AlertEvent]:
    get_alert(session, alert_id)
    return list(session.scalars(select(AlertEvent).where(AlertEvent.alert_id == alert_id)
                                .order_by(AlertEvent.id)))


def update_alert(
    session: Session, alert_id: int, *, actor: str, status: str | None = None,
    note: str | None = None, assignee: str | None = None, outcome: str | None = None,
) -> Alert:
    """Triage: change status (forward only), add a note, assign. Audited. Closing sets the
    outcome: `reported` for status reported; `false_positive` for dismissed unless
    `outcome` says `inconclusive`."""
    alert = get_alert(session, alert_id)
    now = datetime.now(UTC)
    if status is None and note is None and assignee is None:
        raise UserError("nothing to change: give a status, a note or an assignee")
    if outcome is not None and OUTCOME_STATUS.get(outcome) != status:
        raise UserError(f"outcome {outcome!r} does not go with status {status!r}: reported "
                        "closes as reported; dismissed as false_positive or inconclusive")
    if status is not None and status != alert.status:
        if status not in ALERT_STATUSES or status == "retracted":
            raise UserError(f"unknown status {status!r}; one of acknowledged, escalated, "
                            "dismissed, reported")
        if status not in TRANSITIONS[alert.status]:
            allowed = ", ".join(sorted(TRANSITIONS[alert.status])) or "none (closed)"
            raise Conflict(f"alert {alert_id} is {alert.status}; it can become: {allowed}")
        if status in OUTCOME_STATUS.values():
            default = "reported" if status == "reported" else "false_positive"
            close_alert(session, alert, outcome or default, actor, note)
        else:
            session.add(AlertEvent(alert_id=alert.id, at=now, actor=actor, kind="status",
                                   from_status=alert.status, to_status=status, note=note))
            alert.status = status
        note = None  # recorded with the status change
    if assignee is not None and assignee != alert.assignee:
        session.add(AlertEvent(alert_id=alert.id, at=now, actor=actor, kind="assignee",
                               note=note, data={"from": alert.assignee, "to": assignee}))
        alert.assignee = assignee
        note = None
    if note is not None:
        session.add(AlertEvent(alert_id=alert.id, at=now, actor=actor, kind="note", note=note))
    alert.updated_at = now
    session.flush()
    refresh_open_gauge(session)
    return alert


# The status each outcome closes an alert with.
OUTCOME_STATUS = {"reported": "reported", "false_positive": "dismissed",
                  "inconclusive": "dismissed"}


def close_alert(session: Session, alert: Alert, outcome: str, actor: str,
                note: str | None = None, label: bool = True) -> Alert:
    """Close an active alert with its outcome (reported → status reported; false_positive,
    inconclusive → dismissed): the status event with the outcome in its data, and
    amlmon_alert_outcomes_total{rule,outcome} once the transaction commits. Rule
    statistics and backtests read the outcome, and the outcome labels the address
    (`alert:ID`, monitor.labels.outcomes) unless `label` is off: a case labels all its
    addresses at once. Conflict when the alert is already closed."""
    status = OUTCOME_STATUS.get(outcome)
    if status is None:
        raise UserError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOME_STATUS)}")
    if status not in TRANSITIONS[alert.status]:
        raise Conflict(f"alert {alert.id} is {alert.status}; it cannot close as {outcome}")
    now = datetime.now(UTC)
    session.add(AlertEvent(alert_id=alert.id, at=now, actor=actor, kind="status",
                           from_status=alert.status, to_status=status, note=note,
                           data={"outcome": outcome}))
    alert.status, alert.outcome, alert.updated_at = status, outcome, now
    session.flush()
    if label:
        outcomes.from_alert(session, alert, actor)
    _count_outcome_on_commit(session, alert.rule, outcome)
    refresh_open_gauge(session)
    return alert


def _count_outcome_on_commit(session: Session, rule: str, outcome: str) -> None:
    """Count the outcome when the caller commits, not before: a rolled-back close (a case
    approval that fails later in its transaction) must not show on /metrics."""
    pending = session.info.setdefault("alert_outcomes", [])
    pending.append((rule, outcome))
    if not session.info.get("alert_outcomes_listening"):
        session.info["alert_outcomes_listening"] = True
        event.listen(session, "after_commit", _count_pending)
        event.listen(session, "after_rollback", _drop_pending)


def _count_pending(session: Session) -> None:
    for rule, outcome in session.info.pop("alert_outcomes", []):
        metrics.alert_outcomes_total.labels(rule, outcome).inc()


def _drop_pending(session: Session) -> None:
    session.info.pop("alert_outcomes", None)


def refresh_open_gauge(session: Session) -> None:
    counts = {
        s: c for s, c in session.execute(
            select(Alert.severity, func.count()).where(Alert.status.not_in(CLOSED_STATUSES))
            .group_by(Alert.severity))
    }
    for name in ("low", "medium", "high", "critical"):
        metrics.alerts_open.labels(name).set(counts.get(name, 0))
