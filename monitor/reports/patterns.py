"""Pattern reports: the laundering networks scoring found, whole, with members and roles.

A pattern's list entry says what it is (typology, score, the sentence), how big (members,
transfers, exact total value) and when; its report adds every member with its role,
current risk and severity, and its transfers in chain order with exact amounts. Lists
are filtered and paged by the database (newest first, by id), so a token with many
patterns is read a page at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from models import Pattern, PatternMember, PatternTransfer, Token, Transfer
from monitor.addresses import checksum
from monitor.amounts import scaled
from monitor.errors import NotFound
from monitor.reports.flowgraph import FlowGraph, pattern_graph
from monitor.scoring.scores import current_scores
from monitor.timefmt import iso, now_iso

PAGE = 500
MAX_TRANSFERS = 5000  # a report lists at most this many of a pattern's transfers


def summary(pattern: Pattern, token: Token) -> dict[str, Any]:
    """A pattern as lists show it."""
    return {
        "id": pattern.id,
        "chain_id": token.chain_id,
        "token": checksum(token.address),
        "symbol": token.symbol,
        "typology": pattern.typology,
        "status": pattern.status,
        "score": pattern.score,
        "title": pattern.title,
        "anchor": checksum(pattern.anchor),
        "member_count": pattern.member_count,
        "transfer_count": pattern.transfer_count,
        "total_value": scaled(int(pattern.total_value), token.decimals),
        "first_seen": iso(pattern.first_time),
        "last_seen": iso(pattern.last_time),
        "first_block": pattern.first_block,
        "last_block": pattern.last_block,
    }


def _listing(token_ids: list[int] | None, typology: str | None,
             status: str | None) -> Select[Pattern, Token]:
    statement = (select(Pattern, Token).join(Token, Token.id == Pattern.token_id)
                 .order_by(Pattern.id.desc()))
    if token_ids is not None:
        statement = statement.where(Pattern.token_id.in_(token_ids))
    if typology is not None:
        statement = statement.where(Pattern.typology == typology)
    if status is not None:
        statement = statement.where(Pattern.status == status)
    return statement


def pattern_page(session: Session, token_ids: list[int] | None, typology: str | None,
                 status: str | None, limit: int, before: int | None = None,
                 ) -> tuple[list[dict[str, Any]], int | None]:
    """Up to `limit` patterns with ids below `before`, newest first, and the cursor of the
    next page (None at the end)."""
    statement = _listing(token_ids, typology, status).limit(limit + 1)
    if before is not None:
        statement = statement.where(Pattern.id < before)
    rows = session.execute(statement).all()
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    return [summary(p, t) for p, t in page], (page[-1][0].id if more else None)


def pattern_items(session: Session, token_ids: list[int] | None, typology: str | None,
                  status: str | None) -> Iterator[dict[str, Any]]:
    """Every pattern of the listing, read PAGE rows at a time."""
    rows = session.execute(_listing(token_ids, typology, status)
                           .execution_options(yield_per=PAGE))
    for pattern, token in rows:
        yield summary(pattern, token)


def pattern_report(session: Session, pattern_id: int) -> dict[str, Any]:
    """The whole pattern: members with roles and current risk, transfers with amounts."""
    pattern, token = _pattern(session, pattern_id)
    members = session.scalars(select(PatternMember).where(PatternMember.pattern_id == pattern.id)
                              .order_by(PatternMember.position)).all()
    scores = current_scores(session, token.id, [m.address for m in members])
    transfers = _transfers(session, pattern, token)
    return {
        "generated_at": now_iso(),
        **summary(pattern, token),
        "members": [{
            "address": checksum(m.address), "role": m.role, "role_score": m.score,
            "risk_score": scores[m.address].risk_score if m.address in scores else 0,
            "severity": scores[m.address].severity if m.address in scores else "low",
        } for m in members],
        "transfers": [{
            "block_number": t.block_number, "log_index": t.log_index,
            "sub_index": t.sub_index, "block_time": iso(t.block_time), "tx_hash": t.tx_hash,
            "from": checksum(t.from_address), "to": checksum(t.to_address),
            "amount": scaled(int(t.amount), token.decimals),
        } for t in transfers],
        "transfers_truncated": pattern.transfer_count > len(transfers),
    }


def pattern_picture(session: Session, pattern_id: int) -> FlowGraph:
    """The pattern's flows as a picture: members labelled with their roles, exact values
    summed per pair."""
    pattern, token = _pattern(session, pattern_id)
    roles = dict(session.execute(select(PatternMember.address, PatternMember.role)
                                 .where(PatternMember.pattern_id == pattern.id)).all())
    flows = [(t.from_address, t.to_address, int(t.amount))
             for t in _transfers(session, pattern, token)]
    return pattern_graph(pattern.anchor, roles, flows, token.decimals)


def _pattern(session: Session, pattern_id: int) -> tuple[Pattern, Token]:
    found = session.execute(select(Pattern, Token).join(Token, Token.id == Pattern.token_id)
                            .where(Pattern.id == pattern_id)).one_or_none()
    if found is None:
        raise NotFound(f"no pattern {pattern_id}")
    return found[0], found[1]


def _transfers(session: Session, pattern: Pattern, token: Token) -> list[Any]:
    """The pattern's transfers in chain order (at most MAX_TRANSFERS)."""
    return list(session.execute(
        select(Transfer.block_number, Transfer.log_index, Transfer.sub_index,
               Transfer.block_time, Transfer.tx_hash, Transfer.from_address,
               Transfer.to_address, Transfer.amount)
        .join(PatternTransfer, (PatternTransfer.pattern_id == pattern.id)
              & (Transfer.token_id == token.id)
              & (Transfer.block_number == PatternTransfer.block_number)
              & (Transfer.log_index == PatternTransfer.log_index)
              & (Transfer.sub_index == PatternTransfer.sub_index))
        .order_by(Transfer.block_number, Transfer.log_index, Transfer.sub_index)
        .limit(MAX_TRANSFERS)).all())
