"""Bridges between chains: registered bridge contracts, the protocol events ingested from
them, and the transfers that link one chain's send to another chain's receipt.

`bridge_events` are raw facts of one chain, keyed like transfers by their place on that
chain, so a reorg deletes them with the chain's other rows. `bridge_transfers` is the
linkage: one row per protocol message, its source side and its destination side filled as
each side's event is ingested and cleared again when a reorg orphans it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, BigIntPK, utcnow
from models.types import Uint256

BRIDGE_PROTOCOLS = ("layerzero-oft", "wormhole-ntt", "cctp-v1", "cctp-v2")
BRIDGE_SIDES = ("source", "destination")
BRIDGE_STATUSES = ("pending", "linked", "unmatched")
_ADDRESS = String(42).with_variant(String(42, collation="C"), "postgresql")
# Byte order: CCTP v2 keys are counted by prefix (LIKE 'v2:…#%'), which a btree index
# serves only under the C collation.
_MESSAGE_ID = String(80).with_variant(String(80, collation="C"), "postgresql")


class Bridge(Base):
    """A bridge contract on one chain: an OFT (or OFT adapter), an NTT manager, or CCTP's
    TokenMessenger / MessageTransmitter. `endpoint_id` is the protocol's own id of this
    chain (LayerZero EID, Wormhole chain id, CCTP domain), never the EIP-155 chain id.
    `token_id` is the registered token the bridge moves on this chain, when known."""

    __tablename__ = "bridges"
    __table_args__ = (
        UniqueConstraint("chain_id", "address"),
        CheckConstraint("protocol IN ('layerzero-oft', 'wormhole-ntt', 'cctp-v1', 'cctp-v2')",
                        name="protocol"),
        CheckConstraint("start_block >= 0", name="start_block"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    chain_id: Mapped[int] = mapped_column(ForeignKey("chains.chain_id"), index=True)
    address: Mapped[str] = mapped_column(String(42))
    protocol: Mapped[str] = mapped_column(String(16))
    endpoint_id: Mapped[int] = mapped_column(BigInteger)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("tokens.id", ondelete="SET NULL"))
    start_block: Mapped[int] = mapped_column(BigInteger, default=0)
    # Highest block whose logs for this bridge are stored (as tokens' synced_block).
    synced_block: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class BridgeEvent(Base):
    """One decoded protocol event of a registered bridge (one side of a message).

    `message_id` is the protocol's key for linking: the OFT guid, the NTT digest (both
    0x-hex), or "<source domain>:<nonce>" for CCTP. `peer_endpoint_id` is the other side's
    endpoint id as the event names it (the destination of a send, the source of a receipt).
    """

    __tablename__ = "bridge_events"
    __table_args__ = (
        CheckConstraint("side IN ('source', 'destination')", name="side"),
        Index("ix_bridge_events_message", "protocol", "message_id"),
        Index("ix_bridge_events_bridge_block", "bridge_id", "block_number"),
    )

    chain_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    bridge_id: Mapped[int] = mapped_column(ForeignKey("bridges.id", ondelete="CASCADE"))
    protocol: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(_MESSAGE_ID)
    peer_endpoint_id: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str] = mapped_column(String(66))
    block_hash: Mapped[str] = mapped_column(String(66))
    block_time: Mapped[datetime]
    # The sender on the source side, the recipient on the destination side.
    address: Mapped[str | None] = mapped_column(_ADDRESS)
    # The other side's address where the event names it: a send's intended recipient
    # (NTT, CCTP), a CCTP receipt's depositor. Fills a side the other event leaves blank.
    counterparty: Mapped[str | None] = mapped_column(_ADDRESS)
    amount: Mapped[int | None] = mapped_column(Uint256)
    # Source side only: what the protocol says the destination will receive (OFT's
    # amountReceivedLD; NTT's amount less its fee).
    amount_received: Mapped[int | None] = mapped_column(Uint256)


class BridgeTransfer(Base):
    """One bridge message, linked end to end: `pending` while one side is missing,
    `linked` when both are stored, `unmatched` when one side stayed alone longer than
    `bridge_unmatched_after_seconds` (an integrity alert is raised then)."""

    __tablename__ = "bridge_transfers"
    __table_args__ = (
        UniqueConstraint("protocol", "message_id"),
        CheckConstraint("status IN ('pending', 'linked', 'unmatched')", name="status"),
        Index("ix_bridge_transfers_sender", "sender"),
        Index("ix_bridge_transfers_recipient", "recipient"),
        Index("ix_bridge_transfers_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True)
    protocol: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(_MESSAGE_ID)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    source_chain_id: Mapped[int | None] = mapped_column(BigInteger)
    source_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("tokens.id", ondelete="SET NULL"))
    source_block: Mapped[int | None] = mapped_column(BigInteger)
    source_log_index: Mapped[int | None] = mapped_column(Integer)
    source_tx_hash: Mapped[str | None] = mapped_column(String(66))
    sender: Mapped[str | None] = mapped_column(_ADDRESS)
    destination_chain_id: Mapped[int | None] = mapped_column(BigInteger)
    destination_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("tokens.id", ondelete="SET NULL"))
    destination_block: Mapped[int | None] = mapped_column(BigInteger)
    destination_log_index: Mapped[int | None] = mapped_column(Integer)
    destination_tx_hash: Mapped[str | None] = mapped_column(String(66))
    recipient: Mapped[str | None] = mapped_column(_ADDRESS)
    amount_sent: Mapped[int | None] = mapped_column(Uint256)
    amount_received: Mapped[int | None] = mapped_column(Uint256)
    sent_at: Mapped[datetime | None]
    received_at: Mapped[datetime | None]
    # When the lone side was declared unmatched (and its integrity alert raised).
    unmatched_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
