"""Rule statistics: what became of each rule's alerts. Per rule, the alerts raised in a
period and how many were closed as reported, false_positive or inconclusive (by triage
or by their case, both through alerts.lifecycle.close_alert), are still active, were
retracted after a reorg, or were closed before outcomes were recorded.

The database groups and counts; a period of a million alerts costs one row per (rule,
status, outcome) here.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Alert
from models.alerts import CLOSED_STATUSES
from monitor.errors import UserError

# The states an alert of the period is counted in, in the order they are shown.
STATES = ("open", "reported", "false_positive", "inconclusive", "retracted", "no_outcome")


@dataclass
class RuleStats:
    rule: str
    raised: int = 0
    open: int = 0  # still active: open, acknowledged or escalated
    reported: int = 0
    false_positive: int = 0
    inconclusive: int = 0
    retracted: int = 0  # its evidence was orphaned by a reorg: no decision
    no_outcome: int = 0  # closed before outcomes were recorded (schema 0005)

    def shares(self) -> dict[str, float]:
        """Each state's share of the alerts raised, rounded to 4 places."""
        return {state: round(getattr(self, state) / self.raised, 4) if self.raised else 0.0
                for state in STATES}

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "shares": self.shares()}


def state_of(status: str, outcome: str | None) -> str:
    """Where an alert is counted: its outcome when it has one, else what its status says."""
    if outcome is not None:
        return outcome
    if status not in CLOSED_STATUSES:
        return "open"
    if status == "reported":  # closed as reported before outcomes existed: unambiguous
        return "reported"
    return "retracted" if status == "retracted" else "no_outcome"


def rule_stats(session: Session, since: datetime | None = None,
               until: datetime | None = None) -> tuple[list[RuleStats], RuleStats]:
    """Per rule (by id), the alerts raised at or after `since` and before `until`, by
    state; and the total over every rule."""
    if since is not None and until is not None and since >= until:
        raise UserError("since must be before until")
    statement = (select(Alert.rule, Alert.status, Alert.outcome, func.count())
                 .group_by(Alert.rule, Alert.status, Alert.outcome))
    if since is not None:
        statement = statement.where(Alert.created_at >= since)
    if until is not None:
        statement = statement.where(Alert.created_at < until)
    by_rule: dict[str, RuleStats] = {}
    total = RuleStats("all")
    for rule, status, outcome, count in session.execute(statement):
        state = state_of(status, outcome)
        for stats in (by_rule.setdefault(rule, RuleStats(rule)), total):
            stats.raised += count
            setattr(stats, state, getattr(stats, state) + count)
    return [by_rule[rule] for rule in sorted(by_rule)], total
