"""Alerts, their append-only audit trail, and the webhook notification outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, JSONType, utcnow

ALERT_STATUSES = ("open", "acknowledged", "escalated", "dismissed", "reported", "retracted")
# Statuses that close an alert; a new hit on the same (token, address, rule) opens a new one.
CLOSED_STATUSES = ("dismissed", "reported", "retracted")
_ACTIVE = "status NOT IN ('dismissed', 'reported', 'retracted')"


class Alert(Base):
    """One finding of one rule about one address of one token; deduplicated while active."""

    __tablename__ = "alerts"
    __table_args__ = (
        CheckConstraint(
            "status IN ('open', 'acknowledged', 'escalated', 'dismissed', 'reported', "
            "'retracted')",
            name="status",
        ),
        CheckConstraint("severity IN ('low', 'medium', 'high', 'critical')", name="severity"),
        CheckConstraint("outcome IS NULL OR outcome IN ('reported', 'false_positive', "
                        "'inconclusive')", name="outcome"),
        # The deduplication contract: at most one active alert per (token, address, rule).
        Index(
            "uq_alerts_active",
            "token_id", "address", "rule",
            unique=True,
            postgresql_where=text(_ACTIVE),
            sqlite_where=text(_ACTIVE),
        ),
        Index("ix_alerts_status_severity", "status", "severity"),
        Index("ix_alerts_updated", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(42))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="open")
    score: Mapped[int] = mapped_column(Integer)
    risk_score: Mapped[int] = mapped_column(Integer)
    detail: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[str]] = mapped_column(JSONType, default=list)
    # [{"at", "score", "risk_score", "score_run_id"}] — how the finding evolved.
    score_history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    assignee: Mapped[str | None] = mapped_column(String(128))
    # Set when it closes: reported, false_positive (a dismissal) or inconclusive; what
    # rule statistics and backtests count.
    outcome: Mapped[str | None] = mapped_column(String(16))
    score_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("score_runs.id", ondelete="SET NULL")
    )
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class AlertEvent(Base):
    """Audit trail: every change of an alert with actor, time and note. Rows are never updated."""

    __tablename__ = "alert_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    # created | status | note | assignee | evidence | retracted
    kind: Mapped[str] = mapped_column(String(16))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class Notification(Base):
    """Outbox of webhook deliveries: kept until sent, retried with backoff, never dropped."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    sink: Mapped[str] = mapped_column(String(32))  # json | slack
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]
