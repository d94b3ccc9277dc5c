"""Everything an investigator sees about one address: risk, reasons, counterparties, timeline.

Values are exact decimal strings (uint256 scaled by the token's decimals); the float
`weight` fields only size the picture.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session

from models import Token, Transfer
from monitor.addresses import ZERO, checksum
from monitor.reports.flagged import item, scaled
from monitor.scoring.service import current_score
from monitor.timefmt import iso, now_iso

Counterparties = dict[str, dict[str, int]]
"""counterparty -> exact totals and counts each way: in, out, in_count, out_count."""


def token_activity(session: Session, address: str) -> Iterator[tuple[Token, list[Row[Any]],
                                                                      Counterparties]]:
    """Per token the address touched: its transfers (newest first) and its counterparties."""
    for token in session.scalars(select(Token).order_by(Token.id)):
        rows = list(session.execute(
            select(Transfer.tx_hash, Transfer.block_number, Transfer.block_time,
                   Transfer.from_address, Transfer.to_address, Transfer.amount)
            .where(Transfer.chain_id == token.chain_id, Transfer.token_id == token.id,
                   or_(Transfer.from_address == address, Transfer.to_address == address))
            .order_by(Transfer.block_number.desc(), Transfer.log_index.desc())
        ))
        if not rows:
            continue
        flows: Counterparties = defaultdict(
            lambda: {"in": 0, "out": 0, "in_count": 0, "out_count": 0})
        for _tx, _block, _when, sender, receiver, amount in rows:
            other, side = (receiver, "out") if sender == address else (sender, "in")
            flows[other][side] += int(amount)
            flows[other][f"{side}_count"] += 1
        yield token, rows, flows


def address_profile(session: Session, address: str, limit: int = 200,
                    counterparties: int = 25) -> dict[str, Any]:
    return {"generated_at": now_iso(), "address": checksum(address),
            "tokens": [profile_entry(session, token, address, rows, flows, limit, counterparties)
                       for token, rows, flows in token_activity(session, address)]}


def profile_entry(session: Session, token: Token, address: str, rows: list[Row[Any]],
                  flows: Counterparties, limit: int, counterparties: int) -> dict[str, Any]:
    """One token's part of the profile, from token_activity's rows and counterparties."""
    score = current_score(session, token.id, address)
    ranked = sorted(flows.items(), key=lambda kv: -(kv[1]["in"] + kv[1]["out"]))
    return {
        "token": checksum(token.address), "symbol": token.symbol, "chain_id": token.chain_id,
        "score": item(token, score) if score else None,
        "counterparties": [
            {"address": checksum(other), "label": "mint/burn" if other == ZERO else None,
             "received_from": scaled(v["in"], token.decimals),
             "sent_to": scaled(v["out"], token.decimals),
             "transfers": v["in_count"] + v["out_count"],
             "weight": (v["in"] + v["out"]) / 10**token.decimals}
            for other, v in ranked[:counterparties]
        ],
        "counterparty_count": len(flows),
        "transfers": [
            {"tx_hash": tx, "block_number": block, "block_time": iso(when),
             "from": checksum(sender), "to": checksum(receiver),
             "direction": "out" if sender == address else "in",
             "amount": scaled(int(amount), token.decimals)}
            for tx, block, when, sender, receiver, amount in rows[:limit]
        ],
        "transfer_count": len(rows),
    }
