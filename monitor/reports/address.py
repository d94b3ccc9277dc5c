"""One address across chains: an EVM address is the same key on every chain, so its report
lists every chain where it has any activity (a score row, a transfer, or a bridge
transfer sent or received there), its tokens with risk and reasons on each, and its
bridge transfers in and out (monitor.reports.bridges).

Schema: docs/reports.md ("Address report"). The per-token lookups go token by token, as
the (token, address) indexes of scores and transfers answer them; an address has few
tokens, not few transfers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import exists, or_, select
from sqlalchemy.orm import Session

from models import AddressScore, Chain, Token, Transfer
from monitor.addresses import checksum
from monitor.labels.store import address_labels
from monitor.reports.bridges import address_bridge_transfers, bridge_chains, bridge_items
from monitor.reports.flagged import item
from monitor.scoring.pattern_store import pattern_ids
from monitor.scoring.scores import current_score
from monitor.timefmt import now_iso

# The ITEM fields a token entry has only once the token's scoring has seen the address.
_SCORE_FIELDS = ("risk_score", "severity", "anomaly_score", "first_seen", "last_seen",
                 "in_count", "out_count", "in_value", "out_value")


def _has_transfers(session: Session, token: Token, address: str) -> bool:
    where = (Transfer.token_id == token.id,)
    return bool(session.scalar(select(or_(
        exists().where(*where, Transfer.from_address == address),
        exists().where(*where, Transfer.to_address == address)))))


def token_entry(session: Session, token: Token, address: str,
                score: AddressScore | None) -> dict[str, Any]:
    """A token's entry in a chain: the report ITEM (docs/reports.md) with `risk`, its
    risk_score; an address the token's scoring has not seen yet (active since the last run,
    or only through a bridge) has `risk` null, no reasons, and null score fields."""
    if score is not None:
        entry = item(token, score, pattern_ids(session, token.id, [address]).get(address))
        return {**entry, "risk": score.risk_score, "scored": True}
    return {"chain_id": token.chain_id, "token": checksum(token.address),
            "symbol": token.symbol, "address": checksum(address),
            **dict.fromkeys(_SCORE_FIELDS), "reasons": [], "patterns": [],
            "risk": None, "scored": False}


def _entries(session: Session, address: str) -> dict[int, dict[int, dict[str, Any]]]:
    """chain id -> token id -> the token's entry, for every chain the address is active on."""
    by_chain: dict[int, dict[int, dict[str, Any]]] = {}
    for token in session.scalars(select(Token).order_by(Token.id)):
        score = current_score(session, token.id, address)
        if score is not None or _has_transfers(session, token, address):
            by_chain.setdefault(token.chain_id, {})[token.id] = token_entry(
                session, token, address, score)
    # A chain seen only through a bridge transfer (a receipt before the token's first
    # scoring run, or a token we do not register) is listed all the same.
    for chain_id, token_ids in bridge_chains(session, address).items():
        entries = by_chain.setdefault(chain_id, {})
        for token_id in token_ids - entries.keys():
            bridged = session.get(Token, token_id)
            if bridged is not None:
                entries[token_id] = token_entry(session, bridged, address, None)
    return by_chain


def chain_names(session: Session, chain_ids: Iterable[int]) -> dict[int, str | None]:
    """The names of the chains in `chains` among `chain_ids` (a chain not there: absent)."""
    rows = session.execute(select(Chain.chain_id, Chain.name)
                           .where(Chain.chain_id.in_(list(chain_ids))))
    return {chain_id: name for chain_id, name in rows}


def _chains(session: Session, by_chain: dict[int, dict[int, dict[str, Any]]],
            ) -> list[dict[str, Any]]:
    names = chain_names(session, by_chain)
    return [{"chain_id": chain_id, "name": names.get(chain_id),
             "tokens": [entries[t] for t in sorted(entries)]}
            for chain_id, entries in sorted(by_chain.items())]


def address_chains(session: Session, address: str) -> list[dict[str, Any]]:
    """Every chain where the address is active (by chain id), each with its name (null
    when the chain is not in `chains`: the far side of a bridge we do not follow) and the
    entries of the address's tokens there (by token id)."""
    return _chains(session, _entries(session, address))


def bridge_view(session: Session, address: str) -> dict[str, Any]:
    """The address's bridge transfers (newest first, capped) and how many there are."""
    rows, count = address_bridge_transfers(session, address)
    return {"bridge_transfers": bridge_items(session, rows), "bridge_transfer_count": count}


def address_report(session: Session, address: str) -> dict[str, Any]:
    """One address on every chain: its tokens' current scores (`tokens`, the scored ones
    by token id as before chains existed; `chains`, every chain it is active on) and its
    bridge transfers."""
    by_chain = _entries(session, address)
    scored = sorted((token_id, entry) for entries in by_chain.values()
                    for token_id, entry in entries.items() if entry["scored"])
    return {"generated_at": now_iso(), "address": checksum(address),
            "labels": address_labels(session, address),
            "tokens": [{k: v for k, v in entry.items() if k not in ("risk", "scored")}
                       for _, entry in scored],
            "chains": _chains(session, by_chain), **bridge_view(session, address)}
