"""Bridge transfers that stay one-sided: `unmatched`, with an integrity alert.

expire_unmatched marks a `pending` transfer `unmatched` when its lone side is older than
`bridge_unmatched_after_seconds`, and raises an alert of rule `bridge_unmatched` (severity
high) on that side's token and address: the sender of a burn never received, the
recipient of a mint whose source is unknown. The daemon calls it on a schedule; it is
idempotent (a row already unmatched is not raised again).

"Older" is measured on the other chain's clock: the time of the newest block ingested from
the chain the other side should appear on, minus the lone event's block time. So a
destination chain whose ingest is behind (its node down) does not make every recent burn
look lost: the burn ages only as far as that chain has been read. When the other chain is
unknown (no bridge registered for the endpoint id the event names) or has nothing
ingested yet, the wall clock `now` stands in.

At most one active alert per (token, address, rule), as for every rule: a second
unmatched transfer of the same address adds its transaction to the alert's evidence. A
transfer that links later takes its transaction out again (monitor/bridges/linking.py);
an alert left without evidence is retracted with a note. Webhook notifications go through
the outbox (monitor/alerts/notify.py) as alert.created.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import Alert, AlertEvent, Block, BridgeTransfer
from models.alerts import CLOSED_STATUSES
from monitor import metrics
from monitor.addresses import checksum
from monitor.alerts import notify
from monitor.alerts.lifecycle import refresh_open_gauge
from monitor.audit import SYSTEM
from monitor.bridges.linking import UNMATCHED_RULE, lock, refresh
from monitor.db import transaction

log = logging.getLogger(__name__)

SEVERITY = "high"
SCORE = 75  # inside "high" (65-84): the fused-risk scale the other alerts use


def expire_unmatched(sessions: sessionmaker[Session], settings: Any,
                     now: datetime | None = None) -> int:
    """Mark lone-sided pending transfers older than settings.bridge_unmatched_after_seconds
    as unmatched and raise their integrity alerts; returns how many were marked. `now`
    (default: the wall clock) stands in for a chain whose time is unknown."""
    now = now or datetime.now(UTC)
    limit = timedelta(seconds=float(getattr(settings, "bridge_unmatched_after_seconds", 3600)))
    marked = 0
    with transaction(sessions) as session:
        lock(session)  # an ingest batch linking a row now must not be overwritten
        clocks = {chain: when for chain, when in session.execute(
            select(Block.chain_id, func.max(Block.timestamp)).group_by(Block.chain_id))}
        created: list[Alert] = []
        pending = list(session.scalars(select(BridgeTransfer).where(
            BridgeTransfer.status == "pending").order_by(BridgeTransfer.id)))
        # A side with no token yet: its bridge's token may have been registered since the
        # event was stored; the linkage looks it up again.
        tokenless = {(r.protocol, r.message_id) for r in pending
                     if (lone := _lone(r)) is not None and lone[2] is None}
        if tokenless:
            refresh(session, tokenless)
        for row in pending:
            lone = _lone(row)
            if lone is None:
                continue
            side, tx, token_id, address, when, other = lone
            clock = clocks.get(other) if other is not None else None
            elapsed = _aware(clock or now) - _aware(when)
            if elapsed <= limit:
                continue
            row.status, row.unmatched_at = "unmatched", now
            marked += 1
            if token_id is None or address is None:
                log.warning("bridge transfer %s %s is unmatched but its %s side names no "
                            "registered token or address: no alert raised", row.protocol,
                            row.message_id, side)
                continue
            alert = _raise(session, row, side, tx, token_id, address, elapsed, limit, now)
            if alert is not None:
                created.append(alert)
        session.flush()
        notify.enqueue(session, created, getattr(settings, "webhook_url", None),
                       getattr(settings, "webhook_format", "json"))
        for alert in created:
            metrics.alerts_raised_total.labels(alert.rule, alert.severity).inc()
        if marked:
            refresh_open_gauge(session)
    return marked


def _aware(when: datetime) -> datetime:
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _lone(row: BridgeTransfer) -> tuple[str, str, int | None, str | None, datetime,
                                        int | None] | None:
    if row.source_tx_hash and not row.destination_tx_hash and row.sent_at:
        return ("source", row.source_tx_hash, row.source_token_id, row.sender, row.sent_at,
                row.destination_chain_id)
    if row.destination_tx_hash and not row.source_tx_hash and row.received_at:
        return ("destination", row.destination_tx_hash, row.destination_token_id,
                row.recipient, row.received_at, row.source_chain_id)
    return None


def describe(row: BridgeTransfer, side: str, elapsed: timedelta, limit: timedelta) -> str:
    """One sentence naming protocol, message, chain, transaction, address and amount."""
    waited = f"{int(elapsed.total_seconds())} s (limit {int(limit.total_seconds())} s)"
    if side == "source":
        where = (f"chain {row.destination_chain_id}" if row.destination_chain_id is not None
                 else "any registered chain")
        return (f"bridge send never received: {row.protocol} message {row.message_id} sent "
                f"on chain {row.source_chain_id} in tx {row.source_tx_hash} by "
                f"{checksum(row.sender) if row.sender else 'an unknown sender'} (amount "
                f"{row.amount_sent}) has no receipt on {where} after {waited}")
    origin = (f"chain {row.source_chain_id}" if row.source_chain_id is not None
              else "any registered chain")
    return (f"bridge receipt without a known source: {row.protocol} message {row.message_id} "
            f"received on chain {row.destination_chain_id} in tx {row.destination_tx_hash} "
            f"by {checksum(row.recipient) if row.recipient else 'an unknown recipient'} "
            f"(amount {row.amount_received}) has no send on {origin} after {waited}")


def _raise(session: Session, row: BridgeTransfer, side: str, tx: str, token_id: int,
           address: str, elapsed: timedelta, limit: timedelta, now: datetime) -> Alert | None:
    """A new alert, or the transaction added to the address's active one (then None: it
    was notified when created)."""
    detail = describe(row, side, elapsed, limit)
    alert = session.scalar(select(Alert).where(
        Alert.token_id == token_id, Alert.address == address, Alert.rule == UNMATCHED_RULE,
        Alert.status.not_in(CLOSED_STATUSES)))
    point = {"at": now.isoformat(), "score": SCORE, "risk_score": SCORE, "score_run_id": None}
    if alert is None:
        alert = Alert(token_id=token_id, address=address, rule=UNMATCHED_RULE,
                      severity=SEVERITY, status="open", score=SCORE, risk_score=SCORE,
                      detail=detail, evidence=[tx], score_history=[point],
                      first_seen_at=now, last_seen_at=now)
        session.add(alert)
        session.flush()
        session.add(AlertEvent(alert_id=alert.id, at=now, actor=SYSTEM, kind="created",
                               to_status="open", note=detail,
                               data={"protocol": row.protocol, "message_id": row.message_id}))
        return alert
    if tx in alert.evidence:
        return None
    alert.evidence = [*alert.evidence, tx]
    alert.detail = f"{detail} ({len(alert.evidence)} unmatched bridge transfers)"
    alert.last_seen_at = now
    alert.updated_at = now
    session.add(AlertEvent(alert_id=alert.id, at=now, actor=SYSTEM, kind="evidence",
                           note=detail, data={"added_evidence": [tx],
                                              "protocol": row.protocol,
                                              "message_id": row.message_id}))
    return None
