"""Cases in the service layer, on a real scored Postgres database: opening from alerts,
patterns and addresses, the one-open-case rule (also when two transactions race), the
lifecycle with its two-person close, the alerts closing with the case, and an audit row
for every change."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select, text

from models import Alert, AlertEvent, AuditEvent, Case, CaseAlert
from models.alerts import CLOSED_STATUSES
from monitor.cases import lifecycle, service
from monitor.db import transaction
from monitor.errors import Conflict, NotFound, UserError
from support.cases import pattern_with_alerts
from support.wait import wait_for


def _trail(session: Any, case_id: int) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "case", AuditEvent.object_id == str(case_id))
        .order_by(AuditEvent.id)))


def test_a_case_from_a_pattern_links_members_and_their_alerts(scored: Any) -> None:
    pattern_id, members, alert_ids = pattern_with_alerts(scored.sessions)
    with transaction(scored.sessions) as session:
        case = service.open_case(session, actor="alice", title="Network around the anchor",
                                 pattern_ids=[pattern_id], priority="high")
        case_id = case.id
    with scored.sessions() as session:
        from monitor.cases import views

        detail = views.detail(session, service.get_case(session, case_id))
        assert detail["status"] == "open" and detail["priority"] == "high"
        assert [p["id"] for p in detail["patterns"]] == [pattern_id]
        assert {a.lower() for a in detail["addresses"]} == set(members)
        assert [a["id"] for a in detail["alerts"]] == alert_ids
        assert all(a["active"] for a in detail["alerts"])
        [opened] = _trail(session, case_id)
        assert (opened.action, opened.actor, opened.before) == ("case.open", "alice", None)
        assert opened.after is not None
        assert opened.after["alerts"] == alert_ids and opened.after["patterns"] == [pattern_id]
        assert opened.after["title"] == "Network around the anchor"


def test_a_case_from_addresses_takes_their_active_alerts_on_every_token(scored: Any) -> None:
    with transaction(scored.sessions) as session:
        alert = session.scalars(select(Alert).order_by(Alert.id).limit(1)).one()
        same = list(session.scalars(select(Alert.id).where(
            Alert.address == alert.address, Alert.status.not_in(CLOSED_STATUSES))))
        case = service.open_case(session, actor="alice", title="One wallet",
                                 addresses=[alert.address.upper().replace("0X", "0x")])
        linked = set(session.scalars(select(CaseAlert.alert_id)
                                     .where(CaseAlert.case_id == case.id)))
    assert linked == set(same)


def test_an_alert_belongs_to_at_most_one_open_case(scored: Any) -> None:
    pattern_id, _, alert_ids = pattern_with_alerts(scored.sessions)
    with transaction(scored.sessions) as session:
        first = service.open_case(session, actor="alice", title="First",
                                  alert_ids=[alert_ids[0]]).id
        address = session.get(Alert, alert_ids[0]).address
    for how in ({"alert_ids": [alert_ids[0]]}, {"pattern_ids": [pattern_id]},
                {"addresses": [address]}):
        with pytest.raises(Conflict, match=f"alert {alert_ids[0]} is already in open case "
                                           f"{first}"), transaction(scored.sessions) as session:
            service.open_case(session, actor="bob", title="Second", **how)
    with scored.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_two_transactions_racing_for_one_alert_get_one_case_and_a_409(scored: Any) -> None:
    """Both pass the readable check before either commits; the partial unique index makes
    the second wait for the first and then refuses it with the same Conflict."""
    alert_id = pattern_with_alerts(scored.sessions)[2][0]
    outcome: dict[str, Any] = {}

    def second() -> None:
        try:
            with transaction(scored.sessions) as session:
                service.open_case(session, actor="bob", title="Second", alert_ids=[alert_id])
        except Exception as exc:  # checked below, in the test's thread
            outcome["error"] = exc

    def waiting() -> bool:  # the second insert waits on the first one's index entry
        # A transaction of its own per look: pg_stat_activity is a snapshot held until the
        # transaction that read it ends.
        with scored.sessions() as watcher:
            return bool(watcher.scalar(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()")))

    thread = threading.Thread(target=second)
    with scored.sessions() as first:
        first.begin()
        service.open_case(first, actor="alice", title="First", alert_ids=[alert_id])
        assert not waiting()
        thread.start()
        try:
            wait_for(lambda: waiting() or not thread.is_alive(),
                     what="the second transaction to wait for the first")
            assert thread.is_alive(), outcome  # it waits rather than failing or passing
            first.commit()
        finally:
            first.close()  # on a failure, rolls back and lets the second one through
            thread.join(timeout=60)
    assert isinstance(outcome.get("error"), Conflict), outcome
    assert "put in another open case meanwhile" in str(outcome["error"])
    with scored.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case)) == 1


def test_the_lifecycle_with_a_second_person_closes_the_alerts(scored: Any) -> None:
    pattern_id, _, alert_ids = pattern_with_alerts(scored.sessions)
    with transaction(scored.sessions) as session:
        case_id = service.open_case(session, actor="alice", title="Layering",
                                    pattern_ids=[pattern_id]).id
    steps: list[tuple[str, dict[str, Any]]] = [
        ("alice", {"status": "investigating"}),
        ("alice", {"changes": {"narrative": "Funds fan in and leave within a day.",
                               "assignee": "alice"}}),
        ("alice", {"note": "Asked the issuer for KYC files."}),
        ("alice", {"propose": "reported"}),
    ]
    for actor, change in steps:
        with transaction(scored.sessions) as session:
            service.update_case(session, case_id, actor=actor, **change)

    with pytest.raises(lifecycle.SelfApproval, match="second person"), \
            transaction(scored.sessions) as session:
        lifecycle.decide(session, case_id, actor="alice", approve=True)
    with pytest.raises(UserError, match="note: say why"), \
            transaction(scored.sessions) as session:
        lifecycle.decide(session, case_id, actor="carol", approve=False)
    with pytest.raises(Conflict, match="pending approval"), \
            transaction(scored.sessions) as session:
        service.update_case(session, case_id, actor="alice", changes={"title": "Edited"})
    with transaction(scored.sessions) as session:  # notes are still welcome
        service.update_case(session, case_id, actor="bob", note="Second look: agreed.")

    with transaction(scored.sessions) as session:
        case = lifecycle.decide(session, case_id, actor="carol", approve=False,
                                note="Name the exchange in the narrative.")
        assert (case.status, case.proposed_outcome, case.proposed_by) == (
            "investigating", None, None)
    with transaction(scored.sessions) as session:
        service.update_case(session, case_id, actor="alice", propose="reported",
                            changes={"narrative": "Funds fan in and leave for ExchangeX."})
    with transaction(scored.sessions) as session:
        case = lifecycle.decide(session, case_id, actor="carol", approve=True, note="Agreed.")
        assert (case.status, case.outcome, case.approved_by) == ("closed", "reported", "carol")
        assert case.closed_at is not None

    with scored.sessions() as session:
        alerts = session.scalars(select(Alert).where(Alert.id.in_(alert_ids))).all()
        assert {(a.status, a.outcome) for a in alerts} == {("reported", "reported")}
        events = session.scalars(select(AlertEvent).where(
            AlertEvent.alert_id.in_(alert_ids), AlertEvent.to_status == "reported")).all()
        assert len(events) == len(alert_ids)
        assert all(e.actor == "carol" and f"case {case_id}" in (e.note or "") for e in events)
        assert not any(session.scalars(select(CaseAlert.active)
                                       .where(CaseAlert.case_id == case_id)))
        trail = _trail(session, case_id)
        assert [e.action for e in trail] == [
            "case.open", "case.update", "case.update", "case.note", "case.propose",
            "case.note", "case.reject", "case.update", "case.propose", "case.approve"]
        update = trail[2]
        assert update.before == {"assignee": None, "narrative": ""}
        assert update.after == {"assignee": "alice",
                                "narrative": "Funds fan in and leave within a day."}
        assert trail[1].before == {"status": "open"}
        assert trail[1].after == {"status": "investigating"}
        approve = trail[-1]
        assert approve.note == "Agreed." and "note_id" in approve.after
        assert approve.actor == "carol" and approve.before["status"] == "pending_approval"
        assert approve.after["status"] == "closed" and approve.after["outcome"] == "reported"
        assert approve.after["alerts_closed"] == alert_ids
        reject = trail[6]
        assert reject.note == "Name the exchange in the narrative."
        assert reject.before["proposed_by"] == "alice" and reject.after["status"] == "investigating"

    # A closed case does not change, not even by a note.
    for change in ({"note": "late"}, {"changes": {"priority": "low"}}, {"propose": "reported"}):
        with pytest.raises(Conflict, match="closed"), transaction(scored.sessions) as session:
            service.update_case(session, case_id, actor="alice", **change)
    with pytest.raises(Conflict, match="pending approval"), \
            transaction(scored.sessions) as session:
        lifecycle.decide(session, case_id, actor="dave", approve=True)


@pytest.mark.parametrize(("outcome", "status"), [("false_positive", "dismissed"),
                                                 ("inconclusive", "dismissed")])
def test_other_outcomes_dismiss_the_alerts_with_that_outcome(scored: Any, outcome: str,
                                                             status: str) -> None:
    alert_ids = pattern_with_alerts(scored.sessions)[2][:2]
    with transaction(scored.sessions) as session:
        case_id = service.open_case(session, actor="alice", title="Noise",
                                    alert_ids=alert_ids).id
        service.update_case(session, case_id, actor="alice", propose=outcome)
    with transaction(scored.sessions) as session:
        lifecycle.decide(session, case_id, actor="root", approve=True)
    with scored.sessions() as session:
        rows = session.execute(select(Alert.status, Alert.outcome)
                               .where(Alert.id.in_(alert_ids))).all()
        assert set(rows) == {(status, outcome)}
        # Closed alerts can no longer join a case.
        with pytest.raises(Conflict, match="active alerts only"):
            service.open_case(session, actor="bob", title="Again", alert_ids=alert_ids[:1])


def test_an_alert_closed_on_its_own_stays_as_it_was(scored: Any) -> None:
    from monitor.alerts.lifecycle import update_alert

    alert_ids = pattern_with_alerts(scored.sessions)[2][:2]
    with transaction(scored.sessions) as session:
        case_id = service.open_case(session, actor="alice", title="Mixed",
                                    alert_ids=alert_ids).id
        update_alert(session, alert_ids[0], actor="bob", status="dismissed", note="triaged")
        service.update_case(session, case_id, actor="alice", propose="reported")
    with transaction(scored.sessions) as session:
        lifecycle.decide(session, case_id, actor="carol", approve=True)
    with scored.sessions() as session:
        assert session.get(Alert, alert_ids[0]).status == "dismissed"
        assert session.get(Alert, alert_ids[1]).status == "reported"
        trail = _trail(session, case_id)
        assert trail[-1].after is not None and trail[-1].after["alerts_closed"] == [alert_ids[1]]


@pytest.mark.parametrize(("kwargs", "error", "fragment"), [
    ({"alert_ids": [10**12]}, UserError, "alerts: alert 1000000000000 does not exist"),
    ({"pattern_ids": [10**12]}, UserError, "patterns: pattern 1000000000000 does not exist"),
    ({"addresses": ["0x12"]}, UserError, "addresses: address '0x12' must be 40 hex digits"),
    ({}, UserError, "alerts: give at least one alert, pattern or address"),
    ({"addresses": ["0x" + "ab" * 20], "title": " "}, UserError, "title: must be 1-200"),
    ({"addresses": ["0x" + "ab" * 20], "priority": "urgent"}, UserError,
     "priority: unknown priority 'urgent'"),
    ({"addresses": ["0x" + "ab" * 20], "narrative": "a\x00b"}, UserError, "narrative: must "
     "not contain NUL"),
])
def test_bad_input_to_open_names_the_field(scored: Any, kwargs: dict[str, Any],
                                           error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=fragment), transaction(scored.sessions) as session:
        service.open_case(session, actor="alice", **{"title": "T", **kwargs})


def test_bad_updates_name_the_field(scored: Any) -> None:
    with transaction(scored.sessions) as session:
        case_id = service.open_case(session, actor="alice", title="T",
                                    addresses=["0x" + "cd" * 20]).id
    for kwargs, error, fragment in (
        ({"propose": "guilty"}, UserError, "propose: unknown outcome 'guilty'"),
        ({"status": "closed"}, UserError, "status: only investigating can be set"),
        ({"changes": {"outcome": "reported"}}, UserError, "outcome: not a field"),
        ({"changes": {"title": None}}, UserError, "title: cannot be empty"),
        ({}, UserError, "nothing to change"),
        ({"note": ""}, UserError, "note: must be 1-4000 characters"),
    ):
        with pytest.raises(error, match=fragment), transaction(scored.sessions) as session:
            service.update_case(session, case_id, actor="alice", **kwargs)
    with pytest.raises(NotFound, match="case 999 not found"), \
            transaction(scored.sessions) as session:
        service.update_case(session, 999, actor="alice", note="x")
    with scored.sessions() as session:  # nothing of the refused changes was written
        assert [e.action for e in _trail(session, case_id)] == ["case.open"]
