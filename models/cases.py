"""Investigations: cases that gather alerts, patterns and addresses under one narrative,
closed with an outcome that a second person approves; and suppressions, which teach the
monitor what is noise for a while."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, utcnow

CASE_STATUSES = ("open", "investigating", "pending_approval", "closed")
CASE_OUTCOMES = ("reported", "false_positive", "inconclusive")
CASE_PRIORITIES = ("low", "medium", "high", "critical")


class Case(Base):
    """One investigation. open → investigating → pending_approval → closed; a close as
    reported or false_positive is proposed by one key and approved by another."""

    __tablename__ = "cases"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'investigating', 'pending_approval', 'closed')",
                        name="status"),
        CheckConstraint("priority IN ('low', 'medium', 'high', 'critical')", name="priority"),
        CheckConstraint("outcome IS NULL OR outcome IN ('reported', 'false_positive', "
                        "'inconclusive')", name="outcome"),
        CheckConstraint("proposed_outcome IS NULL OR proposed_outcome IN ('reported', "
                        "'false_positive', 'inconclusive')", name="proposed_outcome"),
        Index("ix_cases_status", "status", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    narrative: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(16), default="medium")
    due_at: Mapped[datetime | None]
    assignee: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(24), default="open")
    outcome: Mapped[str | None] = mapped_column(String(16))
    proposed_outcome: Mapped[str | None] = mapped_column(String(16))
    proposed_by: Mapped[str | None] = mapped_column(String(128))
    approved_by: Mapped[str | None] = mapped_column(String(128))
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    closed_at: Mapped[datetime | None]


_OPEN_LINK = "active"


class CaseAlert(Base):
    """An alert of a case. `active` while the case is not closed: an alert belongs to at
    most one open case (a partial unique index)."""

    __tablename__ = "case_alerts"
    __table_args__ = (
        Index("uq_case_alerts_open", "alert_id", unique=True,
              postgresql_where=text(_OPEN_LINK), sqlite_where=text(_OPEN_LINK)),
    )

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                          primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CasePattern(Base):
    __tablename__ = "case_patterns"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    pattern_id: Mapped[int] = mapped_column(ForeignKey("patterns.id", ondelete="CASCADE"),
                                            primary_key=True)


class CaseAddress(Base):
    __tablename__ = "case_addresses"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         primary_key=True)
    address: Mapped[str] = mapped_column(String(42), primary_key=True)


class CaseNote(Base):
    """Append-only notes of a case; rows are never updated."""

    __tablename__ = "case_notes"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"),
                                         index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    text: Mapped[str] = mapped_column(Text)


class Suppression(Base):
    """An (address, rule) pair that raises no new alert and does not count toward the
    flagged set until `until` (rule NULL: every rule; token NULL: every token)."""

    __tablename__ = "suppressions"
    __table_args__ = (Index("ix_suppressions_address", "address"),
                      Index("ix_suppressions_until", "until"))

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    address: Mapped[str] = mapped_column(String(42))
    rule: Mapped[str | None] = mapped_column(String(64))
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    removed_at: Mapped[datetime | None]
    removed_by: Mapped[str | None] = mapped_column(String(128))


__all__ = ["CASE_OUTCOMES", "CASE_PRIORITIES", "CASE_STATUSES", "Case", "CaseAddress",
           "CaseAlert", "CaseNote", "CasePattern", "Suppression"]
