"""Bridge transfers as reports and the API show them: one item shape for the address report
and GET /api/v1/bridge-transfers (`bridge_item`), and the address's own bridge transfers.

Amounts are exact: the stored uint256 base units, scaled by the decimals of the token on
that side (monitor.amounts), or left in base units when the side's token is not
registered, which the item says by its null `source_token` / `destination_token`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import BridgeTransfer, Token
from monitor.addresses import checksum
from monitor.amounts import scaled
from monitor.timefmt import iso

MAX_ADDRESS_BRIDGE_TRANSFERS = 1000  # per address report; a count says how many in all


def _amount(value: int | None, token: Token | None) -> str | None:
    if value is None:
        return None
    return scaled(int(value), token.decimals) if token is not None else str(int(value))


def bridge_item(row: BridgeTransfer, tokens: Mapping[int, Token]) -> dict[str, Any]:
    """One bridge transfer (one protocol message, either side possibly still missing).

    `tokens`: the registered tokens by id, holding at least the row's source and
    destination tokens (bridge_tokens reads them). `amount_sent` is scaled by the source
    token's decimals; `amount_received` by the destination token's when the receipt is
    stored, else by the source token's (a source event's amountReceivedLD is in the source
    chain's local decimals)."""
    source = tokens.get(row.source_token_id) if row.source_token_id is not None else None
    destination = (tokens.get(row.destination_token_id)
                   if row.destination_token_id is not None else None)
    received_in = destination if row.destination_tx_hash is not None else source
    return {
        "protocol": row.protocol,
        "message_id": row.message_id,
        "status": row.status,
        "source_chain_id": row.source_chain_id,
        "source_token": checksum(source.address) if source is not None else None,
        "source_tx_hash": row.source_tx_hash,
        "sender": checksum(row.sender) if row.sender else None,
        "destination_chain_id": row.destination_chain_id,
        "destination_token": checksum(destination.address) if destination is not None else None,
        "destination_tx_hash": row.destination_tx_hash,
        "recipient": checksum(row.recipient) if row.recipient else None,
        "amount_sent": _amount(row.amount_sent, source),
        "amount_received": _amount(row.amount_received, received_in),
        "symbol": next((t.symbol for t in (source, destination) if t is not None), None),
        "sent_at": iso(row.sent_at),
        "received_at": iso(row.received_at),
    }


def bridge_tokens(session: Session, rows: Iterable[BridgeTransfer]) -> dict[int, Token]:
    """The tokens the rows name, read at once (what bridge_item needs)."""
    ids = {i for row in rows for i in (row.source_token_id, row.destination_token_id)
           if i is not None}
    if not ids:
        return {}
    return {token.id: token for token in session.scalars(select(Token).where(Token.id.in_(ids)))}


def bridge_items(session: Session, rows: Iterable[BridgeTransfer]) -> list[dict[str, Any]]:
    """bridge_item of each row, in the rows' order."""
    rows = list(rows)
    tokens = bridge_tokens(session, rows)
    return [bridge_item(row, tokens) for row in rows]


def _touching(address: str) -> Any:
    return or_(BridgeTransfer.sender == address, BridgeTransfer.recipient == address)


def address_bridge_transfers(session: Session, address: str,
                             limit: int = MAX_ADDRESS_BRIDGE_TRANSFERS,
                             ) -> tuple[list[BridgeTransfer], int]:
    """The address's bridge transfers, sent or received (newest first, at most `limit`),
    and how many there are. Both lookups use the sender and recipient indexes."""
    count = int(session.scalar(select(func.count()).select_from(BridgeTransfer)
                               .where(_touching(address))) or 0)
    if not count:
        return [], 0
    # A message is dated by its send, or by its receipt while the send is unknown.
    when = func.coalesce(BridgeTransfer.sent_at, BridgeTransfer.received_at)
    rows = list(session.scalars(
        select(BridgeTransfer).where(_touching(address))
        .order_by(when.desc().nulls_last(), BridgeTransfer.id.desc()).limit(limit)))
    return rows, count


def bridge_chains(session: Session, address: str) -> dict[int, set[int]]:
    """Where the address's bridge transfers put it, per chain: the chains it sent from or
    received on (stored sides only), each with the ids of the registered tokens it moved
    there (empty when the side's token is not registered). Read by the database over all
    of them, not only the listed ones, so a chain is never missed however many there are."""
    # A side counts once its event is stored: a send announces its recipient (NTT, CCTP)
    # before anything arrives, and nothing has happened on that chain yet.
    sent = (select(BridgeTransfer.source_chain_id, BridgeTransfer.source_token_id)
            .where(BridgeTransfer.sender == address,
                   BridgeTransfer.source_tx_hash.is_not(None),
                   BridgeTransfer.source_chain_id.is_not(None)))
    received = (select(BridgeTransfer.destination_chain_id, BridgeTransfer.destination_token_id)
                .where(BridgeTransfer.recipient == address,
                       BridgeTransfer.destination_tx_hash.is_not(None),
                       BridgeTransfer.destination_chain_id.is_not(None)))
    chains: dict[int, set[int]] = {}
    for chain_id, token_id in session.execute(sent.union(received)):
        if chain_id is None:
            continue  # excluded above; says so to the type checker
        tokens = chains.setdefault(int(chain_id), set())
        if token_id is not None:
            tokens.add(int(token_id))
    return chains
