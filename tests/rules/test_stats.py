"""Rule statistics: alerts closed with each outcome (through close_alert, as triage and
cases close them) are counted per rule over a period, by the CLI, the API and /metrics;
a rolled-back close counts nowhere."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from models import Alert, AlertEvent
from monitor import db, jobs, metrics
from monitor.alerts import lifecycle
from monitor.alerts.stats import rule_stats
from monitor.api.app import create_app
from monitor.apikeys import create_key
from monitor.errors import Conflict, UserError
from monitor.scoring.config import RULE_IDS
from monitor.settings import Settings
from support.api import client, serve_app
from support.cli import assert_one_line_error, run_cli
from support.history import write_history

OLD = datetime(2020, 1, 1, tzinfo=UTC)


@pytest.fixture
def scored(pg_url: str, make_sessions: Any) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = make_sessions(pg_url)
    write_history(sessions)
    jobs.score_and_alert(sessions, Settings(database_url=pg_url, rules_file=None))
    return sessions


def _outcome_count(rule: str, outcome: str) -> float:
    return metrics.REGISTRY.get_sample_value(
        "amlmon_alert_outcomes_total", {"rule": rule, "outcome": outcome}) or 0.0


def _two_rules(sessions: sessionmaker[Session]) -> tuple[list[Alert], list[Alert]]:
    """The alerts of the two rules with the most alerts (at least 4 and 2)."""
    with sessions() as session:
        alerts = list(session.scalars(select(Alert).order_by(Alert.id)))
    by_rule: dict[str, list[Alert]] = {}
    for alert in alerts:
        by_rule.setdefault(alert.rule, []).append(alert)
    first, second = sorted(by_rule.values(), key=len, reverse=True)[:2]
    assert len(first) >= 4 and len(second) >= 2, {r: len(a) for r, a in by_rule.items()}
    return first, second


def test_stats_count_each_outcome_per_rule_over_a_period(
    scored: sessionmaker[Session],
) -> None:
    first, second = _two_rules(scored)
    rule = first[0].rule
    before = {o: _outcome_count(rule, o) for o in ("reported", "false_positive",
                                                   "inconclusive")}
    with db.transaction(scored) as session:
        for alert, outcome in zip(first, ("reported", "false_positive", "false_positive",
                                          "inconclusive"), strict=False):
            lifecycle.close_alert(session, session.get(Alert, alert.id), outcome, "ana",
                                "decided in review")
        lifecycle.close_alert(session, session.get(Alert, second[0].id), "reported", "ana")
        # Not counted before the transaction commits.
        assert _outcome_count(rule, "false_positive") == before["false_positive"]
    assert _outcome_count(rule, "reported") == before["reported"] + 1
    assert _outcome_count(rule, "false_positive") == before["false_positive"] + 2
    assert _outcome_count(rule, "inconclusive") == before["inconclusive"] + 1

    with scored() as session:
        closed = session.get(Alert, first[1].id)
        assert closed is not None
        assert (closed.status, closed.outcome) == ("dismissed", "false_positive")
        event = session.scalars(select(AlertEvent).where(AlertEvent.alert_id == closed.id)
                                .order_by(AlertEvent.id.desc())).first()
        assert event is not None
        assert (event.actor, event.kind, event.to_status, event.note, event.data) == (
            "ana", "status", "dismissed", "decided in review", {"outcome": "false_positive"})
        rows, total = rule_stats(session)
    stats = {r.rule: r for r in rows}
    one, two = stats[rule], stats[second[0].rule]
    assert (one.raised, one.reported, one.false_positive, one.inconclusive, one.open) == (
        len(first), 1, 2, 1, len(first) - 4)
    assert one.shares()["false_positive"] == round(2 / len(first), 4)
    assert (two.raised, two.reported, two.open) == (len(second), 1, len(second) - 1)
    assert total.raised == sum(r.raised for r in rows)
    assert (total.reported, total.false_positive, total.inconclusive) == (2, 2, 1)

    # The period: an alert raised long ago counts only in a period that holds it.
    with db.transaction(scored) as session:
        session.execute(update(Alert).where(Alert.id == first[0].id)
                        .values(created_at=OLD))
    with scored() as session:
        old, _ = rule_stats(session, until=datetime(2021, 1, 1, tzinfo=UTC))
        recent, recent_total = rule_stats(session, since=datetime(2021, 1, 1, tzinfo=UTC))
        assert rule_stats(session, since=OLD, until=datetime(2020, 1, 2, tzinfo=UTC))[1].raised == 1
        with pytest.raises(UserError, match="since must be before until"):
            rule_stats(session, since=OLD, until=OLD)
    assert [(r.rule, r.raised, r.reported) for r in old] == [(rule, 1, 1)]
    assert {r.rule: r for r in recent}[rule].reported == 0
    assert recent_total.raised == total.raised - 1


def test_close_alert_refuses_closed_alerts_and_unknown_outcomes(
    scored: sessionmaker[Session],
) -> None:
    first, _ = _two_rules(scored)
    rule = first[0].rule
    with db.transaction(scored) as session:
        alert = session.get(Alert, first[0].id)
        assert alert is not None
        with pytest.raises(UserError, match="outcome: 'maybe'"):
            lifecycle.close_alert(session, alert, "maybe", "ana")
        lifecycle.close_alert(session, alert, "false_positive", "ana")
        with pytest.raises(Conflict, match="is dismissed"):
            lifecycle.close_alert(session, alert, "reported", "ana")
    # A close rolled back (a case approval failing later in its transaction) counts nowhere.
    count = _outcome_count(rule, "reported")
    with pytest.raises(RuntimeError), db.transaction(scored) as session:
        lifecycle.close_alert(session, session.get(Alert, first[1].id), "reported", "ana")
        raise RuntimeError("later step failed")
    with scored() as session:
        assert session.get(Alert, first[1].id).outcome is None  # type: ignore[union-attr]
    assert _outcome_count(rule, "reported") == count


def test_triage_sets_the_outcome_and_the_cli_and_api_show_stats(
    scored: sessionmaker[Session], pg_url: str, capsys: Any, monkeypatch: pytest.MonkeyPatch,
) -> None:
    first, second = _two_rules(scored)
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    ids = [str(a.id) for a in first]
    assert run_cli(capsys, "alerts", "update", ids[0], "--status", "dismissed").code == 0
    done = run_cli(capsys, "alerts", "update", ids[1], "--status", "dismissed",
                   "--outcome", "inconclusive")
    assert done.code == 0 and "dismissed (inconclusive)" in done.out
    assert run_cli(capsys, "alerts", "update", ids[2], "--status", "reported").code == 0
    assert_one_line_error(run_cli(capsys, "alerts", "update", ids[3], "--status", "reported",
                                  "--outcome", "false_positive"), "does not go with")
    assert_one_line_error(run_cli(capsys, "alerts", "update", ids[3], "--note", "x",
                                  "--outcome", "inconclusive"), "does not go with")
    assert_one_line_error(run_cli(capsys, "alerts", "update", ids[3], "--status",
                                  "dismissed", "--outcome", "maybe"), "--outcome")
    with scored() as session:
        outcomes = [session.get(Alert, int(i)).outcome for i in ids[:4]]  # type: ignore[union-attr]
    assert outcomes == ["false_positive", "inconclusive", "reported", None]

    out = run_cli(capsys, "rules", "stats", "--format", "json")
    assert out.code == 0, out.err
    rows = {r["rule"]: r for r in json.loads(out.out)}
    assert (rows[first[0].rule]["false_positive"], rows[first[0].rule]["inconclusive"],
            rows[first[0].rule]["reported"]) == (1, 1, 1)
    assert rows["all"]["raised"] == sum(r["raised"] for k, r in rows.items() if k != "all")
    table = run_cli(capsys, "rules", "stats", "--since", "2000-01-01", "--until",
                    "2999-01-01T00:00:00+02:00")
    assert table.code == 0 and first[0].rule in table.out and "1 (" in table.out
    empty = run_cli(capsys, "rules", "stats", "--until", "2000-01-01", "--format", "json")
    assert json.loads(empty.out) == [{
        "rule": "all", "raised": 0, "open": 0, "reported": 0, "false_positive": 0,
        "inconclusive": 0, "retracted": 0, "no_outcome": 0,
        "shares": dict.fromkeys(("open", "reported", "false_positive", "inconclusive",
                                 "retracted", "no_outcome"), 0.0)}]
    assert_one_line_error(run_cli(capsys, "rules", "stats", "--since", "yesterday"),
                          "--since")
    assert_one_line_error(run_cli(capsys, "rules", "stats", "--since", "2024-02-01",
                                  "--until", "2024-01-01"), "since must be before until")

    # The API: the same figures; a PATCH closes with an outcome; /metrics counts it.
    settings = Settings(database_url=pg_url, rules_file=None)
    with db.transaction(scored) as session:
        keys = {role: create_key(session, f"{role}-key", role)[1]
                for role in ("viewer", "investigator")}
    metrics.initialise("31337", list(RULE_IDS))
    rule = second[0].rule
    with serve_app(create_app(settings, scored)) as base:
        with client(base, keys["viewer"]) as http:
            body = http.get("/api/v1/rules/stats").json()
            assert {r["rule"]: r for r in body["rules"]}[first[0].rule] == rows[first[0].rule]
            assert body["total"] == rows["all"] and body["since"] is None
            period = http.get("/api/v1/rules/stats", params={
                "since": "2000-01-01T00:00:00", "until": "2000-01-02T00:00:00+01:00"}).json()
            assert period["rules"] == [] and period["since"] == "2000-01-01T00:00:00Z"
            assert period["until"] == "2000-01-01T23:00:00Z"
            bad = http.get("/api/v1/rules/stats", params={"since": "soon"})
            assert bad.status_code == 422 and "since" in bad.json()["error"]
            late = http.get("/api/v1/rules/stats", params={"since": "2024-02-01",
                                                           "until": "2024-01-01"})
            assert late.status_code == 400
            assert late.json() == {"error": "since must be before until"}
            scrape = http.get("/metrics").text
            assert f'amlmon_alert_outcomes_total{{outcome="inconclusive",rule="{rule}"}}' \
                in scrape
        before = _outcome_count(rule, "inconclusive")
        with client(base, keys["investigator"]) as http:
            refused = http.patch(f"/api/v1/alerts/{second[0].id}", json={
                "status": "reported", "outcome": "inconclusive"})
            assert refused.status_code == 400 and "does not go with" in refused.json()["error"]
            closed = http.patch(f"/api/v1/alerts/{second[0].id}", json={
                "status": "dismissed", "outcome": "inconclusive", "note": "cannot tell"})
            assert closed.status_code == 200, closed.text
            assert closed.json()["events"][-1]["data"] == {"outcome": "inconclusive"}
            scrape = http.get("/metrics").text
        assert _outcome_count(rule, "inconclusive") == before + 1
        assert (f'amlmon_alert_outcomes_total{{outcome="inconclusive",rule="{rule}"}} '
                f'{before + 1}') in scrape
