"""Bridge events and the transfers they link.

Ingest writes each decoded bridge event to `bridge_events` in the batch's transaction
(write_events) and recomputes the `bridge_transfers` row of every message it touched
(refresh). A row is always derived from the events stored for its (protocol, message id),
never patched side by side: the source event fills the source side, the destination event
the destination side, `linked` when both exist. So a reorg is repaired by deleting the
fork's events and recomputing the same rows (unlink_from, called by the poller's repair),
and the re-ingest links them again; nothing depends on the order the chains were read in.

Unmatched rows and their integrity alerts are monitor/bridges/integrity.py's. Here, a row
that leaves `unmatched` (its other side arrived late, or a reorg removed its lone side)
takes its transaction out of the alert's evidence, and an alert left with no evidence is
retracted with a note saying why.

Data functions take the caller's session and never commit.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import Alert, AlertEvent, Bridge, BridgeEvent, BridgeTransfer, Token
from models.alerts import CLOSED_STATUSES
from monitor.audit import SYSTEM
from monitor.bridges import protocols
from monitor.chain.bridge_decode import BridgeRecord
from monitor.chain.events import TRANSFER
from monitor.db import lock_for_transaction
from monitor.scoring import queue

log = logging.getLogger(__name__)

UNMATCHED_RULE = "bridge_unmatched"
# Advisory-lock namespace of bridge linkage ("amx"; monitor/db.py lists the others). Two
# chains' pollers commit batches concurrently and may touch one message from both sides
# (a link on one, a reorg on the other): each recomputation reads the other side's
# events, so writers of bridge rows take turns, and each sees what the last committed.
BRIDGE_LOCKS = 0x616D78
_ZERO = "0x" + "0" * 40

Key = tuple[str, str]  # (protocol, message id)


@dataclass(frozen=True)
class BridgeRef:
    """What ingest needs of a registered bridge."""

    id: int
    protocol: str
    endpoint_id: int
    token_address: str | None  # the registered token it moves on its chain


# -- ingest side ------------------------------------------------------------------------


def write_events(
    session: Session,
    chain_id: int,
    bridges: Mapping[str, BridgeRef],
    records: Sequence[BridgeRecord],
    times: Mapping[int, datetime],
) -> int:
    """Store the events idempotently (a replayed batch adds nothing) and recompute the
    transfers they belong to; returns how many events are new."""
    if not records:
        return 0
    lock(session)
    stored = _stored_ids(session, chain_id, records)
    ordinals: dict[str, int] = {}
    rows = []
    for r in records:
        message_id = stored.get((r.block_number, r.log_index))
        if message_id is None:
            message_id = r.message_id
            if r.protocol == protocols.CCTP_V2:
                message_id = _ordinal(session, r, ordinals)
        rows.append({
            "chain_id": chain_id, "block_number": r.block_number, "log_index": r.log_index,
            "bridge_id": bridges[r.bridge].id, "protocol": r.protocol, "side": r.side,
            "message_id": message_id, "peer_endpoint_id": r.peer_endpoint_id,
            "tx_hash": r.tx_hash, "block_hash": r.block_hash,
            "block_time": times[r.block_number], "address": r.address,
            "counterparty": r.counterparty, "amount": r.amount,
            "amount_received": r.amount_received,
        })
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert(BridgeEvent) if dialect == "postgresql"
            else sqlite.insert(BridgeEvent)).on_conflict_do_nothing()
    session.connection().execute(stmt, rows)
    refresh(session, {(str(row["protocol"]), str(row["message_id"])) for row in rows})
    # Counted, not read from rowcount: drivers report -1 for an executemany.
    return sum((r.block_number, r.log_index) not in stored for r in records)


def _stored_ids(session: Session, chain_id: int,
                records: Sequence[BridgeRecord]) -> dict[tuple[int, int], str]:
    """Message ids of events of these records already stored (a replayed batch)."""
    low = min(r.block_number for r in records)
    high = max(r.block_number for r in records)
    rows = session.execute(select(
        BridgeEvent.block_number, BridgeEvent.log_index, BridgeEvent.message_id).where(
        BridgeEvent.chain_id == chain_id, BridgeEvent.block_number >= low,
        BridgeEvent.block_number <= high))
    return {(number, index): message_id for number, index, message_id in rows}


def _ordinal(session: Session, record: BridgeRecord, taken: dict[str, int]) -> str:
    """A CCTP v2 content key made unique: the n-th send with identical fields pairs with
    the n-th receipt with identical fields ("#n"). Events are written in chain order and a
    reorg deletes a chain's tail, so the numbering of each side is stable."""
    base = record.message_id
    marker = f"{record.side}:{base}"
    if marker not in taken:
        taken[marker] = int(session.scalar(select(func.count()).select_from(BridgeEvent).where(
            BridgeEvent.protocol == protocols.CCTP_V2, BridgeEvent.side == record.side,
            BridgeEvent.message_id.like(base + "#%"))) or 0)
    taken[marker] += 1
    return f"{base}#{taken[marker]}"


def unlink_from(session: Session, chain_id: int, fork: int) -> set[Key]:
    """Delete the chain's bridge events at or above the fork block (a reorg), rewind its
    bridges' synced blocks, and recompute the transfers they were part of."""
    lock(session)
    keys: set[tuple[str, str]] = {(str(protocol), str(mid)) for protocol, mid in session.execute(
        select(BridgeEvent.protocol, BridgeEvent.message_id).where(
        BridgeEvent.chain_id == chain_id, BridgeEvent.block_number >= fork))}
    session.execute(delete(BridgeEvent).where(
        BridgeEvent.chain_id == chain_id, BridgeEvent.block_number >= fork))
    session.execute(update(Bridge).where(
        Bridge.chain_id == chain_id, Bridge.synced_block >= fork).values(synced_block=fork - 1))
    refresh(session, keys)
    return keys


def lock(session: Session) -> None:
    """Hold the bridge linkage lock until the session's transaction ends (Postgres)."""
    lock_for_transaction(session, BRIDGE_LOCKS, 0)


def set_synced(session: Session, bridge_ids: Iterable[int], number: int) -> None:
    ids = list(bridge_ids)
    if ids:
        session.execute(update(Bridge).where(Bridge.id.in_(ids)).values(synced_block=number))


# -- the linkage ------------------------------------------------------------------------


def refresh(session: Session, keys: Iterable[Key]) -> None:
    """Recompute the bridge_transfers rows of these messages from their stored events."""
    wanted = sorted(set(keys))
    if not wanted:
        return
    session.flush()
    peers = _peer_chains(session)
    now = datetime.now(UTC)
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        events: dict[Key, list[tuple[BridgeEvent, int | None]]] = defaultdict(list)
        condition = or_(*((BridgeEvent.protocol == protocol) & (BridgeEvent.message_id == mid)
                          for protocol, mid in chunk))
        # A side's token: the bridge's, else the bridge itself when it is a registered token
        # (an OFT, an NTT or CCTP contract that is its own token) even if registered after it.
        for event, token_id in session.execute(
            select(BridgeEvent, func.coalesce(Bridge.token_id, Token.id))
            .join(Bridge, Bridge.id == BridgeEvent.bridge_id)
            .outerjoin(Token, and_(Token.chain_id == Bridge.chain_id,
                                   Token.address == Bridge.address))
            .where(condition)
            .order_by(BridgeEvent.block_time, BridgeEvent.chain_id, BridgeEvent.block_number,
                      BridgeEvent.log_index)
        ):
            events[event.protocol, event.message_id].append((event, token_id))
        rows = {(row.protocol, row.message_id): row for row in session.scalars(
            select(BridgeTransfer).where(or_(*(
                (BridgeTransfer.protocol == protocol) & (BridgeTransfer.message_id == mid)
                for protocol, mid in chunk))))}
        for key in chunk:
            _recompute(session, key, events.get(key, []), rows.get(key), peers, now)
    session.flush()


def _recompute(
    session: Session,
    key: Key,
    events: list[tuple[BridgeEvent, int | None]],
    row: BridgeTransfer | None,
    peers: dict[tuple[str, int], int],
    now: datetime,
) -> None:
    protocol, message_id = key
    # The first of each side in chain time: a second receipt of one message (a protocol
    # bug or a replay on another chain) stays in bridge_events, visible, but is not linked.
    source = next(((e, t) for e, t in events if e.side == "source"), None)
    target = next(((e, t) for e, t in events if e.side == "destination"), None)
    old = _lone(row) if row is not None and row.status == "unmatched" else None
    if row is not None and row.status == "linked":
        # Named as it was linked, before a side is cleared: scoring drew its burn and mint
        # as one edge, and must redraw them.
        queue.mark_bridge_link(session, row)
    if source is None and target is None:
        if row is not None:
            if old is not None:
                _release(session, row, old, "its only side was orphaned by a chain "
                         "reorganisation", now)
            session.delete(row)
        return
    if row is None:
        row = BridgeTransfer(protocol=protocol, message_id=message_id, status="pending")
        session.add(row)
    s, s_token = source if source else (None, None)
    d, d_token = target if target else (None, None)
    row.source_chain_id = s.chain_id if s else (
        peers.get((protocol, d.peer_endpoint_id)) if d and d.peer_endpoint_id is not None
        else None)
    row.source_token_id = s_token if s else None
    row.source_block = s.block_number if s else None
    row.source_log_index = s.log_index if s else None
    row.source_tx_hash = s.tx_hash if s else None
    row.sender = s.address if s else (d.counterparty if d else None)
    row.amount_sent = s.amount if s else None
    row.sent_at = s.block_time if s else None
    row.destination_chain_id = d.chain_id if d else (
        peers.get((protocol, s.peer_endpoint_id)) if s and s.peer_endpoint_id is not None
        else None)
    row.destination_token_id = d_token if d else None
    row.destination_block = d.block_number if d else None
    row.destination_log_index = d.log_index if d else None
    row.destination_tx_hash = d.tx_hash if d else None
    row.recipient = (d.address if d and d.address else None) or (s.counterparty if s else None)
    received = d.amount if d else None
    row.amount_received = received if received is not None else (
        s.amount_received if s else None)
    row.received_at = d.block_time if d else None
    if s is not None and d is not None:
        if old is not None:
            _release(session, row, old, f"linked: the {_other(old[0])} side arrived later "
                     f"(tx {d.tx_hash if old[0] == 'source' else s.tx_hash})", now)
        row.status, row.unmatched_at = "linked", None
        queue.mark_bridge_link(session, row)  # its burn and mint become one edge
        return
    lone = _lone(row)
    if old is not None and lone == old:
        return  # still the same lone side: stays unmatched
    if old is not None:
        _release(session, row, old, "its lone side was replaced by a chain reorganisation",
                 now)
    row.status, row.unmatched_at = "pending", None


def _other(side: str) -> str:
    return "destination" if side == "source" else "source"


def _lone(row: BridgeTransfer) -> tuple[str, str | None, int | None, str | None] | None:
    """(side, tx hash, token id, address) of a row's only side, None when linked."""
    if row.source_tx_hash and not row.destination_tx_hash:
        return "source", row.source_tx_hash, row.source_token_id, row.sender
    if row.destination_tx_hash and not row.source_tx_hash:
        return "destination", row.destination_tx_hash, row.destination_token_id, row.recipient
    return None


def _release(session: Session, row: BridgeTransfer,
             lone: tuple[str, str | None, int | None, str | None], why: str,
             now: datetime) -> None:
    """The row is no longer unmatched: its tx leaves the integrity alert's evidence, and an
    alert with nothing left is retracted (a late relay is a delay, not a loss; the alert's
    trail keeps that it happened)."""
    _, tx, token_id, address = lone
    if token_id is None or address is None:
        return
    alert = session.scalar(select(Alert).where(
        Alert.token_id == token_id, Alert.address == address, Alert.rule == UNMATCHED_RULE,
        Alert.status.not_in(CLOSED_STATUSES)))
    if alert is None or tx not in alert.evidence:
        return
    note = f"{row.protocol} message {row.message_id}: {why}"
    alert.evidence = [e for e in alert.evidence if e != tx]
    alert.updated_at = now
    if alert.evidence:
        session.add(AlertEvent(alert_id=alert.id, at=now, actor=SYSTEM, kind="evidence",
                               note=note, data={"removed_evidence": [tx]}))
        return
    session.add(AlertEvent(alert_id=alert.id, at=now, actor=SYSTEM, kind="retracted",
                           from_status=alert.status, to_status="retracted",
                           note=f"retracted: {note}"))
    alert.status = "retracted"


def _peer_chains(session: Session) -> dict[tuple[str, int], int]:
    """(protocol, endpoint id) -> EIP-155 chain id of the registered bridges: where a send
    is headed, where a receipt came from. An endpoint id two chains claim is left out."""
    seen: dict[tuple[str, int], set[int]] = defaultdict(set)
    for protocol, endpoint, chain in session.execute(
            select(Bridge.protocol, Bridge.endpoint_id, Bridge.chain_id)):
        seen[protocol, endpoint].add(chain)
    return {key: next(iter(chains)) for key, chains in seen.items() if len(chains) == 1}


# -- NTT: what the events leave out, from the transactions ---------------------------


def enrich_ntt(client: Any, records: list[BridgeRecord],
               bridges: Mapping[str, BridgeRef]) -> list[BridgeRecord]:
    """Fill the NTT sides' addresses and amounts the events do not carry, from each
    transaction's receipt (one JSON-RPC batch per ingest batch):

    - a send's sender is the `from` of the token Transfer into the manager or to the zero
      address (a burn) in the same transaction, else the transaction's `from` (an EOA
      calling the manager directly; a router contract would be named instead);
    - a redeem's recipient and amount are those of the token Transfer out of the zero
      address (a mint) or the manager (an unlock) in the same transaction; when the
      transfer was queued by the rate limiter and minted later, neither is known here and
      the row takes the source event's recipient and amount.
    """
    wanted = sorted({r.tx_hash for r in records if r.protocol == protocols.WORMHOLE_NTT
                     and (r.address is None)})
    if not wanted:
        return records
    receipts = dict(zip(wanted, client.batch(
        [("eth_getTransactionReceipt", [tx]) for tx in wanted]), strict=True))
    out = []
    for r in records:
        receipt = receipts.get(r.tx_hash)
        if r.protocol != protocols.WORMHOLE_NTT or r.address is not None or not receipt:
            out.append(r)
            continue
        token = bridges[r.bridge].token_address
        moves = _transfers(receipt, token)
        if r.side == "source":
            sender = next((f for f, t, _, _ in moves if t in (r.bridge, _ZERO)
                           and f not in (_ZERO, r.bridge)), None)
            out.append(r._replace(address=sender or str(receipt.get("from", "")).lower()
                                  or None))
        else:
            mints = [(i, t, v) for f, t, v, i in moves if f in (_ZERO, r.bridge) and t != _ZERO]
            after = [m for m in mints if m[0] > r.log_index]
            pick = after[0] if after else (mints[-1] if mints else None)
            out.append(r._replace(address=pick[1], amount=pick[2]) if pick else r)
    return out


def _transfers(receipt: dict[str, Any], token: str | None) -> list[tuple[str, str, int, int]]:
    """(from, to, value, log index) of the receipt's ERC-20 Transfers of `token` (of any
    token when the bridge names none)."""
    moves = []
    for entry in receipt.get("logs") or []:
        try:
            topics = entry["topics"]
            if len(topics) != 3 or str(topics[0]).lower() != TRANSFER:
                continue
            if token is not None and str(entry["address"]).lower() != token:
                continue
            moves.append(("0x" + str(topics[1])[-40:].lower(), "0x" + str(topics[2])[-40:].lower(),
                          int(entry["data"], 16), int(entry["logIndex"], 16)))
        except (KeyError, TypeError, ValueError):
            continue  # a receipt's other logs are not ours to judge
    return moves


# -- reads ------------------------------------------------------------------------------

def list_transfers(session: Session, *, status: str | None = None, address: str | None = None,
                   before_id: int | None = None, limit: int = 100) -> list[BridgeTransfer]:
    """Bridge transfers newest first (by id); `address` matches sender or recipient;
    `before_id` pages (the last id of the page before)."""
    query = select(BridgeTransfer).order_by(BridgeTransfer.id.desc()).limit(limit)
    if status is not None:
        query = query.where(BridgeTransfer.status == status)
    if address is not None:
        query = query.where(or_(BridgeTransfer.sender == address,
                                BridgeTransfer.recipient == address))
    if before_id is not None:
        query = query.where(BridgeTransfer.id < before_id)
    return list(session.scalars(query))
