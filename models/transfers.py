"""Decoded token movements and the compliance events of permissioned tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, JSONType
from models.types import Uint256

ZERO_ADDRESS = "0x" + "00" * 20


class Transfer(Base):
    """One fungible movement of a token: ERC-20 Transfer or one item of an ERC-1155 transfer.

    Mints come from and burns go to the zero address. `sub_index` numbers the items
    of an ERC-1155 TransferBatch log (0 for every other log), so (chain, tx, log,
    sub_index) identifies a row — it is the primary key — and replays upsert onto it.

    Shaped for bulk ingest (migration 0002, measured with bench/ingest.py): no surrogate
    id and no foreign keys on `chain_id`/`token_id` — their per-row index and trigger
    work cost more than half of COPY's throughput, and only ingest writes this table,
    with token ids it has just read. Removing a token's rows is an explicit delete.
    """

    __tablename__ = "transfers"
    __table_args__ = (
        Index("ix_transfers_from_time", "chain_id", "from_address", "block_time"),
        Index("ix_transfers_to_time", "chain_id", "to_address", "block_time"),
        Index("ix_transfers_token_block", "token_id", "block_number"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    tx_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sub_index: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, default=0
    )
    token_id: Mapped[int] = mapped_column(BigIntPK)
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    block_time: Mapped[datetime]
    from_address: Mapped[str] = mapped_column(String(42))
    to_address: Mapped[str] = mapped_column(String(42))
    amount: Mapped[int] = mapped_column(Uint256)
    # ERC-1155 only: the token id within the contract, and who moved it.
    item_id: Mapped[int | None] = mapped_column(Uint256)
    operator: Mapped[str | None] = mapped_column(String(42))


class ComplianceEvent(Base):
    """ERC-3643 compliance events: AddressFrozen, TokensFrozen, TokensUnfrozen,
    RecoverySuccess, Paused, Unpaused."""

    __tablename__ = "compliance_events"
    __table_args__ = (
        UniqueConstraint("chain_id", "tx_hash", "log_index"),
        Index("ix_compliance_events_subject", "chain_id", "subject", "block_number"),
        Index("ix_compliance_events_token_block", "token_id", "block_number"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.chain_id"))
    token_id: Mapped[int] = mapped_column(ForeignKey("tokens.id", ondelete="CASCADE"))
    block_number: Mapped[int] = mapped_column(BigInteger)
    block_hash: Mapped[str] = mapped_column(String(66))
    block_time: Mapped[datetime]
    tx_hash: Mapped[str] = mapped_column(String(66))
    log_index: Mapped[int] = mapped_column(Integer)
    event: Mapped[str] = mapped_column(String(32))
    # The address the event is about (frozen wallet, lost wallet of a recovery); null for Paused.
    subject: Mapped[str | None] = mapped_column(String(42))
    amount: Mapped[int | None] = mapped_column(Uint256)
    args: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
