"""Webhook notifications through an outbox: queued in the alert's transaction, delivered
later, retried with backoff until they succeed — never dropped silently.

Payloads: generic JSON (`json`) or Slack-compatible (`slack`: a `text` plus blocks, with
`& < >` escaped in every piece of data, as Slack's mrkdwn requires).
Every POST carries `X-Amlmon-Timestamp` and `X-Amlmon-Signature: sha256=<hex>`, an
HMAC-SHA256 over `"<timestamp>.<body>"` with the secret from `AMLMON_WEBHOOK_SECRET`, so
the receiver can verify origin and reject replays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from models import Alert, Notification, Token
from monitor import metrics
from monitor.addresses import checksum
from monitor.db import transaction

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)


def payload(alert: Alert, token: Token, sink: str, event: str) -> dict[str, Any]:
    body = {
        "event": event, "alert_id": alert.id, "rule": alert.rule, "severity": alert.severity,
        "status": alert.status, "risk_score": alert.risk_score, "score": alert.score,
        "chain_id": token.chain_id, "token": checksum(token.address),
        "address": checksum(alert.address), "detail": alert.detail,
        "evidence": alert.evidence[:20],
        "last_seen_at": alert.last_seen_at.isoformat() if alert.last_seen_at else None,
    }
    if sink != "slack":
        return body
    title = _slack_escape(f"[{alert.severity.upper()}] {alert.rule} on {body['address']} "
                          f"(risk {alert.risk_score})")
    detail = _slack_escape(alert.detail)
    context = _slack_escape(f"token {body['token']} · alert #{alert.id} · {event}")
    return {"text": title, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{detail}"}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
    ]}


def _slack_escape(text: str) -> str:
    """Slack's escaping of text it parses as mrkdwn: details quote list labels from imported
    files, and an unescaped `<!channel>` would page everyone, `<http://…|click>` disguise
    a link (https://api.slack.com/reference/surfaces/formatting#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def enqueue(session: Session, alerts: list[Alert], url: str | None, sink: str,
            event: str = "alert.created") -> int:
    """Queue one notification per alert (in the caller's transaction)."""
    if not url or not alerts:
        return 0
    tokens = {t.id: t for t in session.scalars(select(Token))}
    for alert in alerts:
        session.add(Notification(alert_id=alert.id, sink=sink, url=url,
                                 payload=payload(alert, tokens[alert.token_id], sink, event)))
    return len(alerts)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


class _Retry(Exception):
    pass


def deliver_due(sessions: sessionmaker[Session], secret: str | None, *, limit: int = 100,
                timeout: float = 10.0) -> dict[str, int]:
    """Send due notifications; failures are rescheduled with exponential backoff."""
    counts = {"sent": 0, "retry": 0, "failed": 0, "deferred": 0}
    down: set[str] = set()  # receivers that just failed: the rest of their queue waits
    now = datetime.now(UTC)
    with sessions() as session:
        due = list(session.scalars(
            select(Notification.id).where(Notification.status == "pending",
                                          Notification.next_attempt_at <= now)
            .order_by(Notification.id).limit(limit)))
    with httpx.Client(timeout=timeout) as client:
        for notification_id in due:
            with transaction(sessions) as session:
                item = session.get(Notification, notification_id, with_for_update=True)
                if item is None or item.status != "pending":
                    continue
                if item.url in down:
                    counts["deferred"] += 1
                    continue
                outcome = _attempt(client, item, secret)
                counts[outcome] += 1
                metrics.notifications_total.labels(outcome).inc()
                if outcome == "retry":
                    down.add(item.url)
    return counts


def _attempt(client: httpx.Client, item: Notification, secret: str | None) -> str:
    body = json.dumps(item.payload, separators=(",", ":"), sort_keys=True).encode()
    stamp = str(int(time.time()))
    headers = {"content-type": "application/json", "x-amlmon-timestamp": stamp,
               "user-agent": "amlmon"}
    if secret:
        headers["x-amlmon-signature"] = sign(secret, stamp, body)
    item.attempts += 1
    try:
        # A few quick retries for blips; longer outages go back to the outbox schedule.
        for attempt in Retrying(stop=stop_after_attempt(3), reraise=True,
                                wait=wait_exponential(multiplier=0.2, max=2),
                                retry=retry_if_exception_type(_Retry)):
            with attempt:
                try:
                    reply = client.post(item.url, content=body, headers=headers)
                except httpx.HTTPError as exc:
                    raise _Retry(f"{type(exc).__name__}: {exc}") from exc
                if reply.status_code == 429 or reply.status_code >= 500:
                    raise _Retry(f"HTTP {reply.status_code}")
    except _Retry as exc:
        backoff = min(timedelta(seconds=10 * 2 ** min(item.attempts, 12)), MAX_BACKOFF)
        item.next_attempt_at = datetime.now(UTC) + backoff
        item.last_error = str(exc)[:500]
        log.warning("webhook %s attempt %s failed (%s); next try in %s", item.id,
                    item.attempts, exc, backoff)
        return "retry"
    if reply.status_code >= 400:
        # The receiver refuses this request as such: retrying the same body cannot help.
        item.status = "failed"
        item.last_error = f"HTTP {reply.status_code}: {reply.text[:300]}"
        log.error("webhook %s refused with HTTP %s; kept as failed", item.id, reply.status_code)
        return "failed"
    item.status = "sent"
    item.sent_at = datetime.now(UTC)
    item.last_error = None
    return "sent"
