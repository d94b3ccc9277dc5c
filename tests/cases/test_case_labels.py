"""Outcomes become labels by themselves, on a real scored Postgres database: an alert
closed in triage labels its address (`alert:ID`), a case approved closed labels every
address of the case (`case:ID`); reported is laundering, false_positive legitimate,
inconclusive nothing; each written with a `label.outcome` audit row in the close's
transaction. A label flags nothing: the scores stay as they were."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from models import Alert, AuditEvent, Case, CaseAddress, CaseAlert, Label, Token
from models.alerts import CLOSED_STATUSES
from monitor.alerts.lifecycle import update_alert
from monitor.cases import lifecycle, service
from monitor.db import transaction
from monitor.labels.store import verdicts
from monitor.scoring.scores import current_scores
from support.cases import pattern_with_alerts


def _labels(session: Any, source: str) -> dict[str, tuple[str, int | None]]:
    return {row.address: (row.label, row.chain_id) for row in session.scalars(
        select(Label).where(Label.source == source))}


@pytest.mark.parametrize(("status", "outcome", "label"), [
    ("reported", None, "laundering"), ("dismissed", None, "legitimate"),
    ("dismissed", "inconclusive", None)])
def test_an_alert_closed_in_triage_labels_its_address(scored: Any, status: str,
                                                      outcome: str | None,
                                                      label: str | None) -> None:
    with scored.sessions() as session:
        alert = session.scalars(select(Alert).where(Alert.status == "open")
                                .order_by(Alert.id).limit(1)).one()
        chain_id = session.get_one(Token, alert.token_id).chain_id
        before = {a: row.id for a, row in current_scores(session, alert.token_id).items()}
    with transaction(scored.sessions) as session:
        update_alert(session, alert.id, actor="alice", status=status, outcome=outcome)
    with scored.sessions() as session:
        found = _labels(session, f"alert:{alert.id}")
        trail = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "label.outcome")).all()
        now = {a: row.id for a, row in current_scores(session, alert.token_id).items()}
        assert now == before  # a label flags nothing: no score row is written
    if label is None:
        assert found == {} and trail == []
        return
    assert found == {alert.address: (label, chain_id)}
    assert [(e.actor, e.object_id, e.after) for e in trail] == [
        ("alice", f"alert:{alert.id}", {"label": label, "outcome": outcome or
                                        ("reported" if status == "reported" else
                                         "false_positive"), "labels": 1})]


def test_a_closed_case_labels_every_address_of_the_case(scored: Any) -> None:
    pattern_id, members, alert_ids = pattern_with_alerts(scored.sessions)
    with transaction(scored.sessions) as session:
        case = service.open_case(session, actor="alice", title="Network",
                                 pattern_ids=[pattern_id], addresses=["0x" + "5e" * 20])
        case_id = case.id
        service.update_case(session, case_id, actor="alice", propose="reported")
    with transaction(scored.sessions) as session:
        lifecycle.decide(session, case_id, actor="carol", approve=True)
    with scored.sessions() as session:
        addresses = set(session.scalars(select(CaseAddress.address)
                                        .where(CaseAddress.case_id == case_id)))
        alerted = set(session.scalars(select(Alert.address).join(
            CaseAlert, CaseAlert.alert_id == Alert.id).where(CaseAlert.case_id == case_id)))
        found = _labels(session, f"case:{case_id}")
        chain_id = session.scalars(select(Token.chain_id)).first()
        assert set(found) == addresses | alerted >= set(members)
        assert all(label == "laundering" for label, _ in found.values())
        # Alerted addresses are labelled on their alerts' chain, a bare address on every one.
        assert {a for a, (_, chain) in found.items() if chain == chain_id} == alerted
        assert found["0x" + "5e" * 20] == ("laundering", None)
        # The case labels once: its alerts' closes wrote none of their own.
        assert session.scalars(select(Label.source).where(
            Label.source.like("alert:%"))).all() == []
        approve = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "case.approve")).one()
        assert approve.after is not None and approve.after["labelled"] == len(found)
        outcome = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "label.outcome")).one()
        assert (outcome.actor, outcome.object_id) == ("carol", f"case:{case_id}")
        assert all(verdicts(session, chain_id)[a].laundering for a in found)
        closed = session.scalars(select(Alert.status).where(Alert.id.in_(alert_ids))).all()
        assert set(closed) <= set(CLOSED_STATUSES)
        assert session.get_one(Case, case_id).outcome == "reported"


def test_a_case_sent_back_labels_nothing(scored: Any) -> None:
    pattern_id, _, _ = pattern_with_alerts(scored.sessions)
    with transaction(scored.sessions) as session:
        case_id = service.open_case(session, actor="alice", title="Network",
                                    pattern_ids=[pattern_id]).id
        service.update_case(session, case_id, actor="alice", propose="false_positive")
    with transaction(scored.sessions) as session:
        lifecycle.decide(session, case_id, actor="carol", approve=False, note="Not yet.")
    with scored.sessions() as session:
        assert session.scalars(select(Label)).all() == []
