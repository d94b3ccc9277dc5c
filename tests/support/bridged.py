"""A bridged token on several chains, written straight into a database: one Token row per
chain, its Transfer rows, and the BridgeTransfer rows that link a burn on one chain to a
mint on another, as the bridge ingest leaves them (no node: the scoring tests need the
rows, not the protocol).

Addresses are named as in support.flows (an EVM address is the same key on every chain);
amounts are token units with 6 decimals, exact in base units; each transfer is its own
block and transaction on its chain, blocks in time order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BridgeTransfer, Token, Transfer
from monitor.addresses import ZERO
from monitor.scoring import queue
from monitor.tokens import add_token
from support.flows import Ledger, address

DECIMALS = 6
OFT_EVENT_LOG = 1  # OFTSent / OFTReceived follow the burn / mint (log 0) in their tx


def base(amount: float) -> int:
    return int(round(amount * 10**DECIMALS))


@dataclass
class Bridged:
    """One ledger per chain id, and bridge transfers between them."""

    ledgers: dict[int, Ledger]
    # (from chain, to chain, sender, recipient, amount sent, amount received, sent at,
    #  received at, linked)
    bridges: list[tuple[int, int, str, str, float, float, int, int, bool]] = field(
        default_factory=list)
    tokens: dict[int, int] = field(default_factory=dict)  # chain id -> token id
    # (chain, ledger row position) -> (block, tx hash), once written
    placed: dict[tuple[int, int], tuple[int, str]] = field(default_factory=dict)
    written: set[tuple[int, int]] = field(default_factory=set)
    stored: dict[int, str] = field(default_factory=dict)  # bridge -> status written

    def bridge(self, source: int, destination: int, sender: str, recipient: str,
               amount: float, at: int, delay: int = 600, received: float | None = None,
               linked: bool = True) -> int:
        """`sender` burns `amount` on `source`; `recipient` is minted `received` (default:
        the amount) on `destination` `delay` seconds later. Returns the bridge's number."""
        got = amount if received is None else received
        self.ledgers[source].burn(sender, amount, at)
        self.ledgers[destination].mint(recipient, got, at + delay)
        self.bridges.append((source, destination, sender, recipient, amount, got, at,
                             at + delay, linked))
        return len(self.bridges) - 1

    def write(self, session: Session, until: int | None = None) -> dict[int, int]:
        """Tokens, transfers and bridge transfers into the database; chain id -> token id.
        With `until`, only what happened up to that unix second that is not yet written,
        as ingest and the relayer would have left it: a bridge whose receipt is not yet
        written is pending, and one linked now is marked as the linking marks it."""
        for chain, ledger in self.ledgers.items():
            if chain not in self.tokens:
                self.tokens[chain] = add_token(
                    session, chain_id=chain, address="0x" + f"{chain:02x}" * 20,
                    symbol="USDY", decimals=DECIMALS).id
            rows = sorted(ledger.rows)
            for block, (at, position, src, dst, amount) in enumerate(rows, start=1):
                tx = f"0x{chain:04x}{block:060x}"
                self.placed[(chain, position)] = (block, tx)
                if (chain, position) in self.written or (until is not None and at > until):
                    continue
                self.written.add((chain, position))
                session.add(Transfer(
                    token_id=self.tokens[chain], block_number=block, log_index=0,
                    sub_index=0, chain_id=chain, tx_hash=tx, block_hash=tx,
                    block_time=datetime.fromtimestamp(at, UTC), from_address=address(src),
                    to_address=address(dst), amount=base(amount)))
        session.flush()
        for k, bridge in enumerate(self.bridges):
            sent, received, linked = bridge[6], bridge[7], bridge[8]
            if until is not None and sent > until:
                continue
            status = "linked" if linked and (until is None or received <= until) else "pending"
            if k not in self.stored:
                row = self.transfer(k)
                if status == "pending":
                    _clear_destination(row)
                session.add(row)
                self.stored[k] = status
            elif self.stored[k] != status:
                self.link(session, k)
                self.stored[k] = status
        session.flush()
        return self.tokens

    def transfer(self, k: int) -> BridgeTransfer:
        """Bridge `k` as the linking leaves it (status linked, or pending on one side)."""
        source, destination, sender, recipient, sent, got, at, received, linked = (
            self.bridges[k])
        burn = self._row(source, sender, "0", sent, at)
        mint = self._row(destination, "0", recipient, got, received)
        row = BridgeTransfer(
            protocol="layerzero-oft", message_id=f"0x{k + 1:064x}",
            status="linked" if linked else "pending", source_chain_id=source,
            source_token_id=self.tokens[source], source_block=burn[0],
            source_log_index=OFT_EVENT_LOG, source_tx_hash=burn[1], sender=address(sender),
            amount_sent=base(sent), amount_received=base(got),
            sent_at=datetime.fromtimestamp(at, UTC))
        if linked:
            row.destination_chain_id = destination
            row.destination_token_id = self.tokens[destination]
            row.destination_block, row.destination_tx_hash = mint
            row.destination_log_index = OFT_EVENT_LOG
            row.recipient = address(recipient)
            row.received_at = datetime.fromtimestamp(received, UTC)
        return row

    def link(self, session: Session, k: int) -> None:
        """The relayer delivers bridge `k` late: its row becomes linked, and the linking
        queues what it changes (queue.mark_bridge_link)."""
        self.bridges[k] = (*self.bridges[k][:8], True)
        row = self._stored(session, k)
        fresh = self.transfer(k)
        for name in ("status", "destination_chain_id", "destination_token_id",
                     "destination_block", "destination_log_index", "destination_tx_hash",
                     "recipient", "received_at"):
            setattr(row, name, getattr(fresh, name))
        session.flush()
        queue.mark_bridge_link(session, row)

    def unlink(self, session: Session, k: int) -> None:
        """A reorg on the destination chain orphans bridge `k`'s receipt: marked while its
        sides are still named, then the destination side is cleared."""
        row = self._stored(session, k)
        queue.mark_bridge_link(session, row)
        _clear_destination(row)
        session.flush()

    def _stored(self, session: Session, k: int) -> BridgeTransfer:
        return session.scalars(select(BridgeTransfer).where(
            BridgeTransfer.message_id == f"0x{k + 1:064x}")).one()

    def _row(self, chain: int, src: str, dst: str, amount: float, at: int) -> tuple[int, str]:
        for position, row in enumerate(self.ledgers[chain].rows):
            if row[0] == at and row[2] == src and row[3] == dst and row[4] == amount:
                return self.placed[(chain, position)]
        raise KeyError((chain, src, dst, amount, at))


def _clear_destination(row: BridgeTransfer) -> None:
    row.status = "pending"
    for name in ("destination_chain_id", "destination_token_id", "destination_block",
                 "destination_log_index", "destination_tx_hash", "received_at"):
        setattr(row, name, None)


def token(session: Session, token_id: int) -> Token:
    found = session.get(Token, token_id)
    assert found is not None
    return found


__all__ = ["ZERO", "Bridged", "base", "token"]
