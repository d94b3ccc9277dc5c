"""Rules backtests on a real scored database: a stricter rules file removes alerts, the
removed ones closed as false positives and as reported are counted, the rules change is
told apart from a change of the world since the alerts were raised, and nothing is
written."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from models import Alert, Token
from models.base import Base
from monitor import db, jobs
from monitor.addresses import checksum
from monitor.alerts import lifecycle
from monitor.alerts.backtest import backtest
from monitor.scoring import suppressions
from monitor.scoring.config import DEFAULTS, parse
from monitor.settings import Settings
from monitor.watchlist.service import import_list
from support.cli import assert_one_line_error, run_cli
from support.history import TOKEN, write_history
from support.rules import RULES_FILE

STRICT = 80  # alerts.min_risk of the stricter file (the shipped one says 50)


@pytest.fixture
def scored(pg_url: str, make_sessions: Any, monkeypatch: pytest.MonkeyPatch,
           ) -> sessionmaker[Session]:
    sessions: sessionmaker[Session] = make_sessions(pg_url)
    write_history(sessions)
    jobs.score_and_alert(sessions, Settings(database_url=pg_url, rules_file=RULES_FILE))
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    monkeypatch.setenv("AMLMON_RULES_FILE", str(RULES_FILE))
    return sessions


def _row_counts(sessions: sessionmaker[Session]) -> dict[str, int]:
    with sessions() as session:
        return {name: int(session.scalar(select(func.count()).select_from(table)) or 0)
                for name, table in Base.metadata.tables.items()}


def _strict_file(tmp_path: Path) -> Path:
    shipped = RULES_FILE.read_text()
    assert shipped.count("  min_risk: 50\n") == 1
    path = tmp_path / "strict.yaml"
    path.write_text(shipped.replace("  min_risk: 50\n", f"  min_risk: {STRICT}\n"))
    return path


def test_a_stricter_file_removes_alerts_and_counts_their_decisions(
    scored: sessionmaker[Session], capsys: Any, tmp_path: Path,
) -> None:
    with scored() as session:
        alerts = list(session.scalars(select(Alert).order_by(Alert.id)))
    below = [a for a in alerts if a.risk_score < STRICT]
    above = [a for a in alerts if a.risk_score >= STRICT]
    assert len(below) >= 4 and above
    # Decisions: on alerts the stricter file drops, and one on an alert it keeps.
    with db.transaction(scored) as session:
        for alert, outcome in ((below[0], "false_positive"), (below[1], "false_positive"),
                               (below[2], "reported"), (below[3], "inconclusive"),
                               (above[0], "false_positive")):
            lifecycle.close_alert(session, session.get(Alert, alert.id), outcome, "ana")
    counts = _row_counts(scored)

    result = run_cli(capsys, "rules", "backtest", "--rules", str(_strict_file(tmp_path)),
                     "--format", "json")
    assert result.code == 0, result.err
    assert "nothing is written" in result.err
    report = json.loads(result.out)
    assert _row_counts(scored) == counts
    total = report["total"]
    assert (total["stored"], total["rerun"], total["new"]) == (
        len(alerts), len(alerts), len(above))
    for baseline in ("vs_stored", "vs_rerun"):  # nothing changed since the alerts were raised
        assert total[baseline] == {"added": 0, "removed": len(below),
                                   "removed_false_positive": 2, "removed_reported": 1,
                                   "removed_inconclusive": 1}
    by_rule = {r["rule"]: r for r in report["rules"]}
    assert by_rule[below[0].rule]["vs_stored"]["removed_false_positive"] >= 1
    assert sum(r["vs_stored"]["removed"] for r in report["rules"]) == len(below)
    assert set(report["baselines"]) == {"stored", "rerun", "new", "vs_stored", "vs_rerun"}
    assert report["tokens"] == [checksum(TOKEN)]

    table = run_cli(capsys, "rules", "backtest", "--rules", str(_strict_file(tmp_path)),
                    "--token", TOKEN)
    assert table.code == 0, table.err
    assert "vs_rerun: candidate against the rules in force re-run" in table.out
    assert "- fp (stored)" in table.out and below[0].rule in table.out
    assert _row_counts(scored) == counts

    # The rules in force against themselves: nothing moves.
    same = run_cli(capsys, "rules", "backtest", "--rules", str(RULES_FILE), "--format", "json")
    assert json.loads(same.out)["total"]["vs_stored"]["removed"] == 0


def test_a_rule_bound_raised_removes_only_that_rules_alerts(
    scored: sessionmaker[Session],
) -> None:
    with scored() as session:
        tokens = list(session.scalars(select(Token)))
        result = backtest(session, tokens, DEFAULTS,
                          parse({"rules": {"fan_out": {"min_recipients": 8}}}))
        # Read-only, enforced by Postgres for the rest of the transaction.
        with pytest.raises(Exception, match="read-only transaction"):
            session.execute(text("DELETE FROM alerts"))
    by_rule = {r.rule: r for r in result.rules}
    fan_out = by_rule.pop("fan_out")
    assert fan_out.vs_rerun.removed > 0 and fan_out.new == fan_out.rerun - fan_out.vs_rerun.removed
    assert fan_out.vs_rerun.added == 0
    assert all(r.vs_rerun.removed == r.vs_rerun.added == 0 for r in by_rule.values())


def test_the_rerun_baseline_isolates_the_rules_change_from_a_changed_world(
    scored: sessionmaker[Session], tmp_path: Path,
) -> None:
    """An address listed as sanctioned and an alerted (address, rule) suppressed after the
    alerts were raised: the stored alerts lack the exposure findings and hold the
    suppressed one; the rules in force re-run see both changes, as raise_from_run would.
    Against the stored alerts even an unchanged rules file adds and removes; against the
    re-run it changes nothing."""
    with scored() as session:
        hushed = session.scalars(select(Alert).where(Alert.risk_score == 100)
                                 .order_by(Alert.id)).first()
        assert hushed is not None
    with db.transaction(scored) as session:
        suppressions.add(session, address=hushed.address, rule=hushed.rule,
                         until=datetime.now(UTC) + timedelta(days=30), reason="known desk",
                         actor="ana", weights=DEFAULTS.weights)
    with scored() as session:
        busy = session.execute(text(
            "SELECT from_address FROM transfers GROUP BY from_address "
            "ORDER BY count(*) DESC, from_address LIMIT 1 OFFSET 3")).scalar_one()
    listing = tmp_path / "sanctions.txt"
    listing.write_text(f"{busy}\n")
    with db.transaction(scored) as session:
        import_list(session, listing, "sanctions", "sanctioned")
    with scored() as session:
        tokens = list(session.scalars(select(Token)))
        same = backtest(session, tokens, DEFAULTS, DEFAULTS)
    by_rule = {r.rule: r for r in same.rules}
    exposure = by_rule["watchlist_exposure"]
    assert exposure.stored == 0 and exposure.rerun == exposure.new > 0
    assert exposure.vs_stored.added == exposure.new
    assert by_rule[hushed.rule].vs_stored.removed >= 1
    assert by_rule[hushed.rule].rerun == by_rule[hushed.rule].stored - 1
    assert same.total.vs_rerun.added == same.total.vs_rerun.removed == 0


def test_bad_input_is_one_line(scored: sessionmaker[Session], capsys: Any,
                               tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("alerts:\n  min_risk: 500\n")
    assert_one_line_error(run_cli(capsys, "rules", "backtest", "--rules", str(bad)),
                          "alerts.min_risk")
    bad.write_text("alerts:\n  min_riks: 60\n")
    assert_one_line_error(run_cli(capsys, "rules", "backtest", "--rules", str(bad)),
                          "unknown setting alerts.min_riks")
    bad.write_text("rules:\n  fan_out:\n    min_recipients: one\n")
    assert_one_line_error(run_cli(capsys, "rules", "backtest", "--rules", str(bad)),
                          "rules.fan_out.min_recipients")
    assert_one_line_error(run_cli(capsys, "rules", "backtest", "--rules",
                                  str(tmp_path / "none.yaml")), "does not exist")
    assert_one_line_error(run_cli(capsys, "rules", "backtest", "--rules", str(RULES_FILE),
                                  "--token", "0x" + "12" * 20), "not registered")
    assert_one_line_error(run_cli(capsys, "rules", "backtest", "--rules", str(RULES_FILE),
                                  "--token", "0x12"), "--token")
    assert_one_line_error(run_cli(capsys, "rules", "backtest"), "--rules")


def test_stats_and_backtest_on_the_embedded_sqlite_database(
    sqlite_url: str, make_sessions: Any, capsys: Any, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """What `amlmon demo` leaves behind: the default SQLite database."""
    sessions = make_sessions(sqlite_url)
    write_history(sessions)
    jobs.score_and_alert(sessions, Settings(database_url=sqlite_url, rules_file=RULES_FILE))
    with db.transaction(sessions) as session:
        low = session.scalars(select(Alert).where(Alert.risk_score < STRICT)
                              .order_by(Alert.id)).first()
        assert low is not None
        lifecycle.close_alert(session, low, "false_positive", "ana")
    monkeypatch.setenv("AMLMON_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("AMLMON_RULES_FILE", str(RULES_FILE))
    counts = _row_counts(sessions)
    result = run_cli(capsys, "rules", "backtest", "--rules", str(_strict_file(tmp_path)),
                     "--format", "json")
    assert result.code == 0, result.err
    total = json.loads(result.out)["total"]
    assert total["vs_rerun"]["removed"] > 0 and total["vs_rerun"]["removed_false_positive"] == 1
    assert _row_counts(sessions) == counts
    stats = run_cli(capsys, "rules", "stats", "--since", "2000-01-01", "--format", "json")
    assert stats.code == 0, stats.err
    assert json.loads(stats.out)[-1]["false_positive"] == 1
