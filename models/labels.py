"""What investigators know about addresses: labels (laundering or legitimate) from imports
and from closed alerts and cases, and the rankers trained on them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, JSONType, utcnow

LABELS = ("laundering", "legitimate")
MODEL_STATUSES = ("current", "retired", "rejected")


class Label(Base):
    """One source's word on one address: an import (`source` is its name) or an outcome
    (`case:12`, `alert:34`). A label never flags an address; rankers train on labels."""

    __tablename__ = "labels"
    __table_args__ = (
        CheckConstraint("label IN ('laundering', 'legitimate')", name="label"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence"),
        # chain_id NULL (every chain) is unique per (source, address) by the writers: an
        # import refuses a repeated address, an outcome writes each address once.
        UniqueConstraint("source", "address", "chain_id"),
        Index("ix_labels_address", "address"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    source: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(42))  # lower-case hex
    chain_id: Mapped[int | None] = mapped_column(BigInteger)  # None: on every chain
    label: Mapped[str] = mapped_column(String(16))
    confidence: Mapped[float] = mapped_column(Float, default=1.0)
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


_CURRENT = "status = 'current'"


class RankerModel(Base):
    """One trained ranker of one token, a version: `current` (in force; one per token),
    `retired` (was in force, replaced or rolled back) or `rejected` (its cross-validated
    PR-AUC was worse than the current one's, so it never was)."""

    __tablename__ = "ranker_models"
    __table_args__ = (
        CheckConstraint("status IN ('current', 'retired', 'rejected')", name="status"),
        Index("uq_ranker_models_current", "token_id", unique=True,
              postgresql_where=text(_CURRENT), sqlite_where=text(_CURRENT)),
        Index("ix_ranker_models_token", "token_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)  # the version
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    # Cross-validated PR-AUC (average precision) and the threshold chosen for F1.
    pr_auc: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    # {"pr_auc", "f1", "precision", "recall", "folds", "laundering", "legitimate", ...}
    metrics: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    features: Mapped[list[str]] = mapped_column(JSONType, default=list)
    params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    # [[address, label, weight], ...]: what it was trained on.
    training_set: Mapped[list[list[Any]]] = mapped_column(JSONType, default=list)
    labels_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the training set
    artifact: Mapped[bytes] = mapped_column(LargeBinary)  # joblib of the fitted ranker
    artifact_format: Mapped[str] = mapped_column(String(64))
    note: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]


__all__ = ["LABELS", "MODEL_STATUSES", "Label", "RankerModel"]
