"""Chains, registered tokens, the per-chain ingest cursor and recent block headers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, utcnow

TOKEN_STANDARDS = ("erc20", "erc1155", "erc3643")


class Chain(Base):
    """An EVM chain we ingest from, identified by its EIP-155 chain id."""

    __tablename__ = "chains"

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Token(Base):
    """A registered RWA token contract. Addresses are stored lower-case hex."""

    __tablename__ = "tokens"
    __table_args__ = (
        UniqueConstraint("chain_id", "address"),
        CheckConstraint("standard IN ('erc20', 'erc1155', 'erc3643')", name="standard"),
        CheckConstraint("decimals >= 0 AND decimals <= 77", name="decimals"),
        CheckConstraint("start_block >= 0", name="start_block"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.chain_id"), index=True)
    address: Mapped[str] = mapped_column(String(42))
    name: Mapped[str | None] = mapped_column(String(128))
    symbol: Mapped[str | None] = mapped_column(String(32))
    decimals: Mapped[int] = mapped_column(Integer, default=18)
    standard: Mapped[str] = mapped_column(String(16), default="erc20")
    start_block: Mapped[int] = mapped_column(BigInteger, default=0)
    # Highest block whose logs for this token are stored. A token registered after
    # the chain cursor moved on is backfilled on its own until it catches up.
    synced_block: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class IngestCursor(Base):
    """One per chain: the last block ingested, plus the lease of the process that ingests it."""

    __tablename__ = "ingest_cursors"

    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.chain_id"), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str | None] = mapped_column(String(66))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None]


class Block(Base):
    """Headers of recent blocks (reorg detection by parent hash) and of blocks with logs (times)."""

    __tablename__ = "blocks"

    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.chain_id"), primary_key=True)
    number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(66))
    parent_hash: Mapped[str] = mapped_column(String(66))
    timestamp: Mapped[datetime]
