"""Everything an investigator sees about one address: risk, reasons, counterparties, timeline.

Values are exact decimal strings (uint256 scaled by the token's decimals); the float
`weight` fields only size the picture. A hub can have millions of transfers, so the
database counts them, picks the latest page and ranks the counterparties (GROUP BY,
ORDER BY total, LIMIT): memory holds what is shown, not the history.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from sqlalchemy import func, literal, or_, select, union_all
from sqlalchemy.orm import Session

from models import Token, Transfer
from monitor.addresses import ZERO, checksum
from monitor.amounts import exact_sum, ordering_sum, scaled, total
from monitor.labels.store import address_labels
from monitor.reports.address import address_chains, bridge_view
from monitor.reports.flagged import item
from monitor.scoring.pattern_store import address_patterns
from monitor.scoring.scores import current_score
from monitor.timefmt import iso, now_iso


class Flow(NamedTuple):
    """Exact totals between the address and one counterparty, each way."""

    address: str
    received: int  # from the counterparty
    sent: int  # to the counterparty
    received_count: int
    sent_count: int


class Activity(NamedTuple):
    """An address's transfers of one token, as the database summed them up."""

    flows: list[Flow]  # the largest counterparties, largest first
    counterparties: int  # how many in all
    transfers: int  # from or to the address


def activity(session: Session, token: Token, address: str, limit: int) -> Activity | None:
    """The `limit` counterparties that moved the most value with the address (largest
    first), how many there are and how many transfers; None when there is no transfer.

    One GROUP BY over the address's transfers, with window totals over the groups for the
    counts, and exact sums (monitor.amounts). A transfer to itself counts once, as sent."""
    where = (Transfer.chain_id == token.chain_id, Transfer.token_id == token.id)
    flows = union_all(
        select(Transfer.to_address.label("other"), literal("out").label("side"),
               Transfer.amount.label("amount"))
        .where(*where, Transfer.from_address == address),
        select(Transfer.from_address, literal("in"), Transfer.amount)
        .where(*where, Transfer.to_address == address, Transfer.from_address != address),
    ).subquery()
    received = flows.c.side == "in"
    grouped = (select(flows.c.other, func.count().filter(received),
                      func.count().filter(~received), func.count().over(),
                      func.sum(func.count()).over())
               .group_by(flows.c.other).limit(max(limit, 1)))  # one row even for 0: the totals
    amount = exact_sum(session, flows.c.amount)
    rows = session.execute(grouped.add_columns(amount.filter(received), amount.filter(~received))
                           .order_by(ordering_sum(session, flows.c.amount).desc(),
                                     flows.c.other)).all()
    if not rows:
        return None
    return Activity([Flow(other, total(into), total(out), n_in, n_out)
                     for other, n_in, n_out, _, _, into, out in rows[:limit]],
                    int(rows[0][3]), int(rows[0][4]))


def address_profile(session: Session, address: str, limit: int = 200,
                    counterparties: int = 25) -> dict[str, Any]:
    """Per token with a transfer of the address: its score, patterns, largest counterparties
    and latest transfers; and, as the address report has them, its chains and bridge
    transfers (an address is the same key on every chain)."""
    return {"generated_at": now_iso(), "address": checksum(address),
            "labels": address_labels(session, address),
            "tokens": [entry for _, _, entry in token_entries(session, address, limit,
                                                               counterparties)],
            "chains": address_chains(session, address), **bridge_view(session, address)}


def token_entries(session: Session, address: str, limit: int,
                  counterparties: int) -> Iterator[tuple[Token, Activity, dict[str, Any]]]:
    """Per token with a transfer from or to the address: its activity and profile entry."""
    for token in session.scalars(select(Token).order_by(Token.id)).all():
        found = activity(session, token, address, counterparties)
        if found is not None:
            yield token, found, profile_entry(session, token, address, limit, found)


def profile_entry(session: Session, token: Token, address: str, limit: int,
                  found: Activity) -> dict[str, Any]:
    """One token's part of the profile: its latest `limit` transfers and what activity()
    found."""
    score = current_score(session, token.id, address)
    patterns = address_patterns(session, token.id, address)
    recent = session.execute(
        select(Transfer.tx_hash, Transfer.block_number, Transfer.block_time,
               Transfer.from_address, Transfer.to_address, Transfer.amount)
        .where(Transfer.chain_id == token.chain_id, Transfer.token_id == token.id,
               or_(Transfer.from_address == address, Transfer.to_address == address))
        .order_by(Transfer.block_number.desc(), Transfer.log_index.desc(),
                  Transfer.sub_index.desc())
        .limit(limit))
    return {
        "token": checksum(token.address), "symbol": token.symbol, "chain_id": token.chain_id,
        "score": (item(token, score, [p["id"] for p in patterns]) if score else None),
        "patterns": patterns,
        "counterparties": [
            {"address": checksum(flow.address),
             "label": "mint/burn" if flow.address == ZERO else None,
             "received_from": scaled(flow.received, token.decimals),
             "sent_to": scaled(flow.sent, token.decimals),
             "transfers": flow.received_count + flow.sent_count,
             "weight": (flow.received + flow.sent) / 10**token.decimals}
            for flow in found.flows
        ],
        "counterparty_count": found.counterparties,
        "transfers": [
            {"tx_hash": tx, "block_number": block, "block_time": iso(when),
             "from": checksum(sender), "to": checksum(receiver),
             "direction": "out" if sender == address else "in",
             "amount": scaled(int(amount), token.decimals)}
            for tx, block, when, sender, receiver, amount in recent
        ],
        "transfer_count": found.transfers,
    }
