"""Laundering patterns: networks found by the graph typologies, with members and roles."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, utcnow
from models.types import Uint256

PATTERN_STATUSES = ("active", "retired")


class Pattern(Base):
    """One network (a fan-in, a cycle, a peel chain, ...) as the latest run that saw it
    found it; `retired` once the history no longer supports it (a reorg, a changed rule)."""

    __tablename__ = "patterns"
    __table_args__ = (
        UniqueConstraint("token_id", "key"),
        Index("ix_patterns_token_typology", "token_id", "typology", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    typology: Mapped[str] = mapped_column(String(64))
    # typology:anchor:first block:first log position (monitor.scoring.patterns)
    key: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="active")
    anchor: Mapped[str] = mapped_column(String(42))
    score: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    member_count: Mapped[int] = mapped_column(Integer)
    transfer_count: Mapped[int] = mapped_column(Integer)
    total_value: Mapped[int] = mapped_column(Uint256)  # exact sum of its transfers
    first_time: Mapped[datetime]
    last_time: Mapped[datetime]
    first_block: Mapped[int] = mapped_column(BigInteger)
    last_block: Mapped[int] = mapped_column(BigInteger)
    signature: Mapped[str] = mapped_column(String(64))  # of members, roles, transfers, score
    first_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("score_runs.id", ondelete="SET NULL"))
    last_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("score_runs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class PatternMember(Base):
    """An address of a pattern, its role there and the score the role earns it."""

    __tablename__ = "pattern_members"
    __table_args__ = (Index("ix_pattern_members_address", "address"),)

    pattern_id: Mapped[int] = mapped_column(
        ForeignKey("patterns.id", ondelete="CASCADE"), primary_key=True)
    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    position: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)


class PatternTransfer(Base):
    """A transfer that makes a pattern, by its place on the chain (transfers' key)."""

    __tablename__ = "pattern_transfers"

    pattern_id: Mapped[int] = mapped_column(
        ForeignKey("patterns.id", ondelete="CASCADE"), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    sub_index: Mapped[int] = mapped_column(Integer, primary_key=True)
