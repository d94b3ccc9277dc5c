"""The re-score queue: (token, address) pairs whose current scores may be stale.

Ingest queues the addresses a reorg touched, a watchlist change queues every token, and a
suppression's removal or expiry queues its addresses. Bridge linking queues the ends of a
bridge transfer that became linked or unlinked (`mark_bridge_link`): those pairs alone do
not make the next run start again from the database; a long-lived process re-reads only
those addresses' bridge transfers and rewrites the rows they name
(monitor.scoring.bridges.refresh). The token's next scoring run starts
again from the database when anything is queued, and takes what it scored off the queue
in its own transaction, so a run that fails leaves the pairs queued. The pair (token, zero
address) stands for the whole token: its screening is stale.

Only the table lies below: ingest and watchlists, which scoring reads, write here too
(the layers, tests/test_layers.py). Functions never commit.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import BridgeTransfer, DirtyAddress
from monitor.addresses import ZERO

# The reason of pairs queued because a bridge transfer was linked or unlinked.
BRIDGE_LINK = "bridge-link"


def mark(session: Session, pairs: Iterable[tuple[int, str]], reason: str) -> None:
    """Queue (token id, address) pairs for re-scoring; `reason` says who asked (a pair
    already queued keeps its first reason, except that any other reason replaces
    BRIDGE_LINK: a reorg's pair must make the next run start from the database)."""
    rows = [{"token_id": t, "address": a, "reason": reason} for t, a in sorted(set(pairs))]
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(DirtyAddress)
    session.execute(statement.on_conflict_do_update(
        index_elements=["token_id", "address"], set_={"reason": statement.excluded.reason},
        where=(DirtyAddress.reason == BRIDGE_LINK) & (statement.excluded.reason != BRIDGE_LINK),
    ), rows)


def mark_bridge_link(session: Session, transfer: BridgeTransfer) -> None:
    """Queue what a bridge transfer's linking or unlinking changes: its sender on the
    source token and its recipient on the destination token (their burn and mint rows
    become edges, or burns and mints again), and the tokens whose chain_hopping view of a
    neighbouring leg reads it (the legs that brought the sender its funds, the legs its
    recipient bridged on). Call it in the transaction that links the transfer, and with
    the row as it was linked before clearing a side (a reorg), so that its tokens and
    addresses are still named."""
    pairs = set()
    if transfer.source_token_id is not None and transfer.sender:
        pairs.add((int(transfer.source_token_id), transfer.sender.lower()))
    if transfer.destination_token_id is not None and transfer.recipient:
        pairs.add((int(transfer.destination_token_id), transfer.recipient.lower()))
    near = []
    if transfer.sender and transfer.source_token_id is not None:
        near.append((BridgeTransfer.recipient == transfer.sender.lower())
                    & (BridgeTransfer.destination_token_id == transfer.source_token_id))
    if transfer.recipient and transfer.destination_token_id is not None:
        near.append((BridgeTransfer.sender == transfer.recipient.lower())
                    & (BridgeTransfer.source_token_id == transfer.destination_token_id))
    if near:
        for other in session.scalars(select(BridgeTransfer).where(
                or_(*near), BridgeTransfer.status == "linked",
                BridgeTransfer.id != transfer.id)):
            for token_id, address in ((other.source_token_id, other.sender),
                                      (other.destination_token_id, other.recipient)):
                if token_id is not None and address:
                    pairs.add((int(token_id), address))
    mark(session, pairs, BRIDGE_LINK)


def mark_tokens(session: Session, token_ids: Iterable[int], reason: str) -> None:
    """Queue whole tokens: their next runs score and screen them again, new blocks or not."""
    mark(session, ((token_id, ZERO) for token_id in token_ids), reason)


def pending(session: Session, token_id: int) -> list[str]:
    """The token's queued addresses (the zero address: the whole token)."""
    return list(session.scalars(select(DirtyAddress.address)
                                .where(DirtyAddress.token_id == token_id)))


def pending_reasons(session: Session, token_id: int) -> dict[str, str]:
    """The token's queued addresses with the reason each was queued for."""
    return {address: reason for address, reason in session.execute(
        select(DirtyAddress.address, DirtyAddress.reason)
        .where(DirtyAddress.token_id == token_id))}


def pending_since(session: Session, token_id: int, reason: str) -> datetime | None:
    """When the oldest of the token's pairs queued for `reason` was queued (None: none)."""
    return session.scalar(select(func.min(DirtyAddress.marked_at)).where(
        DirtyAddress.token_id == token_id, DirtyAddress.reason == reason))


def pending_tokens(session: Session) -> set[int]:
    """Tokens with anything queued: their next run re-screens them, and has not yet."""
    return set(session.scalars(select(DirtyAddress.token_id).distinct()))


def take(session: Session, token_id: int, addresses: list[str]) -> None:
    """Take `addresses` (what a run read from `pending` and has scored) off the token's
    queue."""
    session.execute(delete(DirtyAddress).where(DirtyAddress.token_id == token_id,
                                               DirtyAddress.address.in_(addresses)))
