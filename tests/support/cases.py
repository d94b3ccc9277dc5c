"""Cases' test data: a pattern whose members have active alerts, to open a case from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Alert, Pattern, PatternMember
from models.alerts import CLOSED_STATUSES


def pattern_with_alerts(sessions: sessionmaker[Session]) -> tuple[int, list[str], list[int]]:
    """The pattern whose members have the most active alerts of its token (ties: the lower
    id): its id, its members and those alerts' ids in id order."""
    best: tuple[int, list[str], list[int]] | None = None
    with sessions() as session:
        for pattern in session.scalars(select(Pattern).order_by(Pattern.id)):
            members = list(session.scalars(select(PatternMember.address)
                                           .where(PatternMember.pattern_id == pattern.id)))
            alerts = list(session.scalars(select(Alert.id).where(
                Alert.token_id == pattern.token_id, Alert.address.in_(members),
                Alert.status.not_in(CLOSED_STATUSES)).order_by(Alert.id)))
            if best is None or len(alerts) > len(best[2]):
                best = (pattern.id, members, alerts)
    assert best is not None and len(best[2]) >= 2, "the history has no pattern with alerts"
    return best
