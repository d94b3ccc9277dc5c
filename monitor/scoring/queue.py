"""The re-score queue: (token, address) pairs whose current scores may be stale.

Ingest queues the addresses a reorg touched, a watchlist change queues every token, and a
suppression's removal or expiry queues its addresses. The token's next scoring run starts
again from the database when anything is queued, and takes what it scored off the queue
in its own transaction, so a run that fails leaves the pairs queued. The pair (token, zero
address) stands for the whole token: its screening is stale.

Only the table lies below: ingest and watchlists, which scoring reads, write here too
(the layers, tests/test_layers.py). Functions never commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import DirtyAddress
from monitor.addresses import ZERO


def mark(session: Session, pairs: Iterable[tuple[int, str]], reason: str) -> None:
    """Queue (token id, address) pairs for re-scoring; `reason` says who asked (a pair
    already queued keeps its first reason)."""
    rows = [{"token_id": t, "address": a, "reason": reason} for t, a in sorted(set(pairs))]
    if not rows:
        return
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    session.execute(insert(DirtyAddress).on_conflict_do_nothing(), rows)


def mark_tokens(session: Session, token_ids: Iterable[int], reason: str) -> None:
    """Queue whole tokens: their next runs score and screen them again, new blocks or not."""
    mark(session, ((token_id, ZERO) for token_id in token_ids), reason)


def pending(session: Session, token_id: int) -> list[str]:
    """The token's queued addresses (the zero address: the whole token)."""
    return list(session.scalars(select(DirtyAddress.address)
                                .where(DirtyAddress.token_id == token_id)))


def pending_tokens(session: Session) -> set[int]:
    """Tokens with anything queued: their next run re-screens them, and has not yet."""
    return set(session.scalars(select(DirtyAddress.token_id).distinct()))


def take(session: Session, token_id: int, addresses: list[str]) -> None:
    """Take `addresses` (what a run read from `pending` and has scored) off the token's
    queue."""
    session.execute(delete(DirtyAddress).where(DirtyAddress.token_id == token_id,
                                               DirtyAddress.address.in_(addresses)))
