"""Score runs, per-address risk scores and the queue of addresses to re-score."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, JSONType, utcnow
from models.types import Uint256

SEVERITIES = ("low", "medium", "high", "critical")


class ScoreRun(Base):
    """One execution of the scorers, with the anomaly model's version and parameters."""

    __tablename__ = "score_runs"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # full | incremental
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    addresses_scored: Mapped[int] = mapped_column(Integer, default=0)
    up_to_block: Mapped[int | None] = mapped_column(BigInteger)
    # IsolationForest version: training size, feature names, parameters, fit time.
    model: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    error: Mapped[str | None] = mapped_column(String(2000))


class AddressScore(Base):
    """The fused risk of one address for one token, as computed by one score run."""

    __tablename__ = "address_scores"
    __table_args__ = (
        UniqueConstraint("score_run_id", "token_id", "address"),
        Index("ix_address_scores_latest", "token_id", "address", "score_run_id"),
        Index("ix_address_scores_risk", "token_id", "risk_score"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    score_run_id: Mapped[int] = mapped_column(ForeignKey("score_runs.id", ondelete="CASCADE"))
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(42))
    risk_score: Mapped[int] = mapped_column(Integer)
    severity: Mapped[str] = mapped_column(String(16))
    anomaly_score: Mapped[float | None] = mapped_column(Float)
    # [{"rule", "score", "detail", "evidence": [tx hashes]}], strongest first.
    reasons: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    features: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    first_seen: Mapped[datetime | None]
    last_seen: Mapped[datetime | None]
    in_count: Mapped[int] = mapped_column(Integer, default=0)
    out_count: Mapped[int] = mapped_column(Integer, default=0)
    in_value: Mapped[int] = mapped_column(Uint256, default=0)
    out_value: Mapped[int] = mapped_column(Uint256, default=0)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class DirtyAddress(Base):
    """An address whose flows changed (new transfers, reorg) since it was last scored."""

    __tablename__ = "dirty_addresses"

    token_id: Mapped[int] = mapped_column(
        ForeignKey("tokens.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str] = mapped_column(String(42), primary_key=True)
    # transfer | reorg | watchlist (a list changed: the token is screened again)
    reason: Mapped[str] = mapped_column(String(16), default="transfer")
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)
