"""Alerts from score runs: one active alert per (token, address, rule).

An alert is raised for each reason of a flagged address (risk >= `min_risk`) whose
weighted score reaches `min_reason_score`. New evidence for an active alert updates it
(score history, evidence, last seen) instead of opening a duplicate; a closed alert
(dismissed, reported, retracted) stays closed and a new finding opens a new one. An
alert whose evidence transfers have all been orphaned by a reorg is retracted. What the
monitor does here is done by `audit.SYSTEM`. Callers own the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Alert, AlertEvent, ScoreRun, Token, Transfer
from models.alerts import CLOSED_STATUSES
from monitor import metrics
from monitor.alerts.lifecycle import refresh_open_gauge
from monitor.audit import SYSTEM
from monitor.scoring.config import RulesConfig
from monitor.scoring.risk import severity as severity_of
from monitor.scoring.scores import current_scores

MAX_EVIDENCE = 100


@dataclass
class RaiseResult:
    created: list[Alert] = field(default_factory=list)
    updated: list[Alert] = field(default_factory=list)
    retracted: list[Alert] = field(default_factory=list)


def raise_from_run(
    session: Session, token: Token, run: ScoreRun, config: RulesConfig,
) -> RaiseResult:
    """Create or update alerts from the token's current scores after `run`."""
    result = RaiseResult()
    now = datetime.now(UTC)
    active = {
        (a.address, a.rule): a
        for a in session.scalars(select(Alert).where(
            Alert.token_id == token.id, Alert.status.not_in(CLOSED_STATUSES)))
    }
    for address, score in current_scores(session, token.id,
                                         min_risk=config.alerts.min_risk).items():
        for reason in score.reasons:
            if reason.get("suppressed"):
                continue  # no new alert for a suppressed pair; its active one is left as is
            if not raises(config, score.risk_score, reason["rule"], reason["score"]):
                continue
            alert = active.get((address, reason["rule"]))
            if alert is None:
                alert = _create(session, token, run, address, score.risk_score, reason, now)
                result.created.append(alert)
            elif _refresh(session, alert, run, score.risk_score, reason, now):
                result.updated.append(alert)
    result.retracted = _retract_orphaned(session, token, now)
    session.flush()
    for alert in result.created:
        metrics.alerts_raised_total.labels(alert.rule, alert.severity).inc()
    refresh_open_gauge(session)
    return result


def raises(config: RulesConfig, risk: int, rule: str, score: int) -> bool:
    """Whether a finding makes an alert: its address's risk reaches alerts.min_risk and its
    weighted score alerts.min_reason_score (what rules backtests ask too)."""
    return (risk >= config.alerts.min_risk
            and config.weight(rule) * score >= config.alerts.min_reason_score)


def _create(session: Session, token: Token, run: ScoreRun, address: str, risk: int,
            reason: dict[str, Any], now: datetime) -> Alert:
    alert = Alert(
        token_id=token.id, address=address, rule=reason["rule"],
        severity=severity_of(risk), status="open", score=reason["score"], risk_score=risk,
        detail=reason["detail"], evidence=list(reason["evidence"])[:MAX_EVIDENCE],
        score_history=[_point(run, reason["score"], risk, now)], score_run_id=run.id,
        first_seen_at=now, last_seen_at=now,
    )
    session.add(alert)
    session.flush()
    session.add(AlertEvent(alert_id=alert.id, at=now, actor=SYSTEM, kind="created",
                           to_status="open", note=reason["detail"],
                           data={"score": reason["score"], "risk_score": risk,
                                 "score_run_id": run.id}))
    return alert


def _refresh(session: Session, alert: Alert, run: ScoreRun, risk: int,
             reason: dict[str, Any], now: datetime) -> bool:
    """Fold a new finding into an active alert; True when something changed."""
    evidence = list(dict.fromkeys([*alert.evidence, *reason["evidence"]]))[:MAX_EVIDENCE]
    changed = (reason["score"] != alert.score or risk != alert.risk_score
               or evidence != alert.evidence or reason["detail"] != alert.detail)
    if not changed:
        return False
    added = [tx for tx in evidence if tx not in alert.evidence]
    alert.score, alert.risk_score, alert.detail = reason["score"], risk, reason["detail"]
    alert.severity = severity_of(risk)
    alert.evidence = evidence
    alert.score_history = [*alert.score_history, _point(run, reason["score"], risk, now)]
    alert.last_seen_at = now
    alert.score_run_id = run.id
    session.add(AlertEvent(alert_id=alert.id, at=now, actor=SYSTEM, kind="evidence",
                           note=reason["detail"],
                           data={"score": reason["score"], "risk_score": risk,
                                 "added_evidence": added, "score_run_id": run.id}))
    return True


def _point(run: ScoreRun, score: int, risk: int, now: datetime) -> dict[str, Any]:
    return {"at": now.isoformat(), "score": score, "risk_score": risk, "score_run_id": run.id}


def _retract_orphaned(session: Session, token: Token, now: datetime) -> list[Alert]:
    """Active alerts none of whose evidence transfers exist any more (reorged away)."""
    active = [a for a in session.scalars(select(Alert).where(
        Alert.token_id == token.id, Alert.status.not_in(CLOSED_STATUSES))) if a.evidence]
    wanted = sorted({tx for a in active for tx in a.evidence})
    present: set[str] = set()
    for start in range(0, len(wanted), 1000):
        # The hash index on tx_hash serves the lookup.
        present.update(session.scalars(select(Transfer.tx_hash).distinct().where(
            Transfer.chain_id == token.chain_id, Transfer.tx_hash.in_(wanted[start:start + 1000]),
            Transfer.token_id == token.id)))
    retracted = []
    for alert in active:
        if any(tx in present for tx in alert.evidence):
            continue
        note = (f"retracted: all {len(alert.evidence)} supporting transfer(s) were orphaned "
                "by a chain reorganisation")
        session.add(AlertEvent(alert_id=alert.id, at=now, actor=SYSTEM, kind="retracted",
                               from_status=alert.status, to_status="retracted", note=note))
        alert.status = "retracted"
        alert.updated_at = now
        retracted.append(alert)
    return retracted
