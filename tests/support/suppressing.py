"""What the suppression tests look for in a scored database: addresses that one rule alone
flags, the flagged set, alerts of a pair."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Alert
from monitor.reports.flagged import flagged_items
from monitor.scoring.config import DEFAULTS
from monitor.scoring.risk import Reason, fuse, severity
from monitor.scoring.scores import current_scores
from monitor.settings import Settings

FLAG = DEFAULTS.flag_min_risk


@dataclass
class Scored:
    url: str
    sessions: sessionmaker[Session]
    settings: Settings
    token_id: int


def later(days: int = 30) -> str:
    """A date well in the future, as the CLI and the API take it."""
    return (datetime.now(UTC) + timedelta(days=days)).date().isoformat()


def flagging_pairs(session: Session, token_id: int, alone: bool = True,
                   ) -> list[tuple[str, str]]:
    """(address, rule) pairs of flagged addresses, in address order, whose alert is open:
    `alone`, that rule's reason alone flags the address (the others fuse below the flag);
    else the others keep it flagged without it."""
    alerted = {(address, rule) for address, rule in session.execute(
        select(Alert.address, Alert.rule).where(Alert.token_id == token_id,
                                                Alert.status == "open"))}
    return [(address, rule) for address, rule, risk, rest in _splits(session, token_id)
            if risk >= FLAG and (address, rule) in alerted and (rest < FLAG) == alone]


def barely_moving(session: Session, token_id: int) -> list[tuple[str, str]]:
    """(address, rule) pairs whose reason moves the address's risk less than
    min_score_change and not across a severity: hiding it is no material change."""
    return [(address, rule) for address, rule, risk, rest in _splits(session, token_id)
            if 0 < risk - rest < DEFAULTS.min_score_change and severity(risk) == severity(rest)]


def _splits(session: Session, token_id: int) -> list[tuple[str, str, int, int]]:
    """(address, rule, risk, risk fused without that rule's reason) of every reason but a
    watchlist's."""
    out = []
    for address, row in sorted(current_scores(session, token_id).items()):
        for reason in row.reasons:
            rest = [Reason(r["rule"], r["score"], r["detail"], r["evidence"])
                    for r in row.reasons if r is not reason]
            if reason["rule"] != "watchlist_exposure":
                out.append((address, reason["rule"], row.risk_score,
                            fuse(rest, DEFAULTS.weights)[0]))
    return out


def flagged(session: Session) -> set[str]:
    """The flagged set as `report flagged` reads it (lower-case addresses)."""
    return {item["address"].lower() for item in flagged_items(session, None, int(FLAG))}


def alerts_of(session: Session, address: str, rule: str) -> list[Alert]:
    return list(session.scalars(select(Alert).where(Alert.address == address,
                                                    Alert.rule == rule).order_by(Alert.id)))


def reason_of(session: Session, token_id: int, address: str, rule: str) -> dict[str, object]:
    [reason] = [r for r in current_scores(session, token_id, [address])[address].reasons
                if r["rule"] == rule]
    return reason
