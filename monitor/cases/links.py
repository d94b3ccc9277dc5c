"""What a case is opened from: alerts by id, patterns (with their members and the members'
active alerts of the pattern's token) and addresses (with their active alerts), and the
rule that an alert belongs to at most one open case."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Alert, Case, CaseAddress, CaseAlert, CasePattern, Pattern, PatternMember
from models.alerts import CLOSED_STATUSES
from monitor.addresses import parse_address
from monitor.errors import Conflict, UserError

MAX_LINKS = 1000  # ids or addresses a case is opened from, per kind


@dataclass
class Links:
    """What a case links, each once, in the order first named."""

    alerts: dict[int, Alert] = field(default_factory=dict)
    patterns: dict[int, Pattern] = field(default_factory=dict)
    addresses: dict[str, None] = field(default_factory=dict)  # an ordered set

    def as_json(self) -> dict[str, list[int] | list[str]]:
        return {"alerts": list(self.alerts), "patterns": list(self.patterns),
                "addresses": list(self.addresses)}


def resolve(session: Session, alert_ids: Iterable[int] = (), pattern_ids: Iterable[int] = (),
            addresses: Iterable[str] = ()) -> Links:
    """The alerts, patterns and addresses a case opened from these would link. Unknown ids,
    closed alerts and malformed addresses are refused naming the field."""
    alert_ids, pattern_ids, addresses = list(alert_ids), list(pattern_ids), list(addresses)
    for name, given in (("alerts", alert_ids), ("patterns", pattern_ids),
                        ("addresses", addresses)):
        if len(given) > MAX_LINKS:
            raise UserError(f"{name}: at most {MAX_LINKS} per case, got {len(given)}")
    if not (alert_ids or pattern_ids or addresses):
        raise UserError("alerts: give at least one alert, pattern or address to open the "
                        "case from")
    links = Links()
    for alert_id in dict.fromkeys(alert_ids):
        alert = session.get(Alert, alert_id)
        if alert is None:
            raise UserError(f"alerts: alert {alert_id} does not exist")
        if alert.status in CLOSED_STATUSES:
            raise Conflict(f"alerts: alert {alert_id} is {alert.status}; a case takes active "
                           "alerts only")
        links.alerts[alert.id] = alert
    for pattern_id in dict.fromkeys(pattern_ids):
        pattern = session.get(Pattern, pattern_id)
        if pattern is None:
            raise UserError(f"patterns: pattern {pattern_id} does not exist")
        links.patterns[pattern.id] = pattern
        members = list(session.scalars(select(PatternMember.address)
                                       .where(PatternMember.pattern_id == pattern.id)
                                       .order_by(PatternMember.position)))
        links.addresses.update(dict.fromkeys(members))
        _add_active(session, links, members, token_id=pattern.token_id)
    parsed = []
    for text in addresses:
        try:
            parsed.append(parse_address(text))
        except ValueError as exc:
            raise UserError(f"addresses: {exc}") from None
    links.addresses.update(dict.fromkeys(parsed))
    _add_active(session, links, parsed)
    return links


def _add_active(session: Session, links: Links, addresses: list[str],
                token_id: int | None = None) -> None:
    """The addresses' active alerts (of one token, when given), in id order."""
    for start in range(0, len(addresses), 1000):
        statement = (select(Alert).where(Alert.address.in_(addresses[start:start + 1000]),
                                         Alert.status.not_in(CLOSED_STATUSES))
                     .order_by(Alert.id))
        if token_id is not None:
            statement = statement.where(Alert.token_id == token_id)
        for alert in session.scalars(statement):
            links.alerts.setdefault(alert.id, alert)


def check_free(session: Session, alert_ids: Iterable[int]) -> None:
    """Refuse alerts already in an open case, naming the first one and its case."""
    wanted = list(alert_ids)
    for start in range(0, len(wanted), 1000):
        taken = session.execute(
            select(CaseAlert.alert_id, CaseAlert.case_id)
            .where(CaseAlert.alert_id.in_(wanted[start:start + 1000]), CaseAlert.active)
            .order_by(CaseAlert.alert_id).limit(1)).first()
        if taken is not None:
            raise Conflict(f"alerts: alert {taken[0]} is already in open case {taken[1]} (an "
                           "alert belongs to at most one open case)")


def attach(session: Session, case: Case, links: Links) -> None:
    """Write the case's links. Another transaction may have put one of the alerts in its own
    open case since check_free looked: the partial unique index refuses that, and the
    refusal is the same 409."""
    session.add_all(CasePattern(case_id=case.id, pattern_id=p) for p in links.patterns)
    session.add_all(CaseAddress(case_id=case.id, address=a) for a in links.addresses)
    session.add_all(CaseAlert(case_id=case.id, alert_id=a, active=True) for a in links.alerts)
    try:
        session.flush()
    except IntegrityError as exc:
        if not any(mark in str(exc.orig) for mark in ("uq_case_alerts_open",
                                                      "case_alerts.alert_id")):
            raise
        # The transaction is spoilt; the caller's rollback ends it.
        raise Conflict("alerts: one of the alerts was put in another open case meanwhile (an "
                       "alert belongs to at most one open case); try again") from None
