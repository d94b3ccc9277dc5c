"""Watchlists (sanctions, mixers, exchanges, KYC allowlists) and their import history."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, JSONType, utcnow

WATCHLIST_CATEGORIES = (
    "sanctioned", "mixer", "scam", "exchange", "bridge", "kyc_investor", "other",
)


class Watchlist(Base):
    """A named list; re-importing it replaces its entries atomically."""

    __tablename__ = "watchlists"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    category: Mapped[str] = mapped_column(String(32))
    source: Mapped[str | None] = mapped_column(Text)
    entry_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class WatchlistEntry(Base):
    """One listed address (lower-case hex), with the list's or its own category."""

    __tablename__ = "watchlist_entries"
    __table_args__ = (UniqueConstraint("watchlist_id", "address"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(ForeignKey("watchlists.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(42), index=True)
    category: Mapped[str] = mapped_column(String(32))
    label: Mapped[str | None] = mapped_column(Text)
    program: Mapped[str | None] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)


class WatchlistImport(Base):
    """What one import of a list added and removed: the list's own audit trail."""

    __tablename__ = "watchlist_imports"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    watchlist_id: Mapped[int] = mapped_column(
        ForeignKey("watchlists.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    source: Mapped[str | None] = mapped_column(Text)
    added: Mapped[list[str]] = mapped_column(JSONType, default=list)
    removed: Mapped[list[str]] = mapped_column(JSONType, default=list)
