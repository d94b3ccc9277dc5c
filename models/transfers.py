"""Decoded token movements and the compliance events of permissioned tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, JSONType
from models.types import Uint256

ZERO_ADDRESS = "0x" + "00" * 20
# SQLite compares bytes already (its BINARY collation) and knows no collation "C".
_ADDRESS = String(42).with_variant(String(42, collation="C"), "postgresql")


class Transfer(Base):
    """One fungible movement of a token: ERC-20 Transfer or one item of an ERC-1155 transfer.

    Mints come from and burns go to the zero address. `sub_index` numbers the items
    of an ERC-1155 TransferBatch log (0 for every other log).

    Shaped for bulk ingest (measured with bench/ingest.py; see README "Schema notes"):
    - the primary key is (token, block, log, sub_index): a log's position on the
      canonical chain, unique because ingest deletes a reorg's orphaned rows before it
      re-ingests their blocks. Ingest appends in block order, so this B-tree only
      grows at its right edge, and it also serves every per-token block-range read
      (scoring's flows, reorg deletes), so no separate (token, block) index is needed;
    - lookups by tx hash (alert evidence) use a hash index: a random 66-character key
      costs a B-tree several times more per insert;
    - per-address reads always name the token, so (token, from) and (token, to) are
      the address indexes: many rows share a key, which B-tree deduplication packs.
      Addresses are lower-case hex and compare byte by byte (COLLATE "C"): the same
      order as any collation gives them, without a strcoll call per comparison;
    - no surrogate id and no foreign keys on `chain_id`/`token_id`: their per-row work
      cost more than half of COPY's throughput, and only ingest writes this table,
      with token ids it has just read. Removing a token's rows is an explicit delete.
    """

    __tablename__ = "transfers"
    __table_args__ = (
        Index("ix_transfers_tx_hash", "tx_hash", postgresql_using="hash"),
        Index("ix_transfers_token_from", "token_id", "from_address"),
        Index("ix_transfers_token_to", "token_id", "to_address"),
    )

    token_id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=False)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sub_index: Mapped[int] = mapped_column(
        Integer, primary_key=True, autoincrement=False, default=0
    )
    chain_id: Mapped[int] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))
    block_hash: Mapped[str] = mapped_column(String(66))
    block_time: Mapped[datetime]
    from_address: Mapped[str] = mapped_column(_ADDRESS)
    to_address: Mapped[str] = mapped_column(_ADDRESS)
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
