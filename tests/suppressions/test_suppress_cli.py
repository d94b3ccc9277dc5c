"""Suppressions through the CLI on a real scored database: a suppressed pair leaves the
flagged set at once and stays out across re-scores, raises no new alert, comes back when
removed or when it expires (the score job notices, nobody acts), and every change is
audited. Bad input is one line naming the option."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from models import Suppression
from monitor import audit, db, jobs
from monitor.addresses import checksum
from monitor.alerts import lifecycle as alerts
from monitor.scoring.scores import current_score, current_scores
from monitor.scoring.service import ScoringCache
from support.cli import assert_one_line_error, run_cli
from support.history import TOKEN
from support.rules import RULES_FILE
from support.suppressing import (
    Scored,
    alerts_of,
    barely_moving,
    flagged,
    flagging_pairs,
    later,
    reason_of,
)


@pytest.fixture
def cli(scored: Scored, monkeypatch: pytest.MonkeyPatch) -> Scored:
    monkeypatch.setenv("AMLMON_DATABASE_URL", scored.url)
    monkeypatch.setenv("AMLMON_RULES_FILE", str(RULES_FILE))  # the defaults, as scored
    return scored


def _flagged_report(capsys: pytest.CaptureFixture[str]) -> set[str]:
    done = run_cli(capsys, "report", "flagged", "--format", "json")
    assert done.code == 0, done.err
    return {item["address"].lower() for item in json.loads(done.out)["items"]}


def test_a_suppressed_pair_leaves_the_flagged_set_raises_nothing_and_comes_back(
    cli: Scored, capsys: pytest.CaptureFixture[str]
) -> None:
    with cli.sessions() as session:
        (control, control_rule), (address, rule) = flagging_pairs(session, cli.token_id)[:2]
        [alert] = alerts_of(session, address, rule)
    assert {control, address} <= _flagged_report(capsys)
    # Close both alerts: a re-score opens a new one for a finding whose alert is closed.
    with db.transaction(cli.sessions) as session:
        for pair in ((control, control_rule), (address, rule)):
            alerts.update_alert(session, alerts_of(session, *pair)[0].id, actor="ana",
                                status="dismissed", note="triaged")

    added = run_cli(capsys, "suppress", "add", "--address", address, "--rule", rule,
                    "--until", later(), "--reason", "known payroll wallet", "--actor", "ana")
    assert added.code == 0, added.err
    assert "1 score row(s) re-marked" in added.out
    out = _flagged_report(capsys)
    assert address not in out and control in out  # at once, no scoring run
    with cli.sessions() as session:
        mark = reason_of(session, cli.token_id, address, rule)["suppressed"]
        suppression_id = session.scalar(select(Suppression.id))
        assert mark == {"id": suppression_id, "until": mark["until"]}  # type: ignore[index]
        assert current_score(session, cli.token_id, address).risk_score < 50  # type: ignore[union-attr]

    listed = run_cli(capsys, "suppress", "list", "--format", "json")
    [row] = json.loads(listed.out)
    assert (row["id"], row["status"], row["rule"], row["token"], row["created_by"]) == (
        suppression_id, "active", rule, None, "ana")
    page = run_cli(capsys, "report", "address", address, "--format", "html")
    assert "suppressed until" in page.out

    for kind in ("score", "score --incremental", "score"):  # a re-score keeps it out
        assert run_cli(capsys, *kind.split()).code == 0
        assert address not in _flagged_report(capsys)
    with cli.sessions() as session:
        assert [a.id for a in alerts_of(session, address, rule)] == [alert.id]  # no new one
        assert alerts_of(session, address, rule)[0].status == "dismissed"
        assert len(alerts_of(session, control, control_rule)) == 2  # the control re-opened
        assert "suppressed" in reason_of(session, cli.token_id, address, rule)

    removed = run_cli(capsys, "suppress", "remove", str(suppression_id), "--actor", "ben")
    assert removed.code == 0, removed.err
    assert address in _flagged_report(capsys)  # back at once
    with cli.sessions() as session:
        assert "suppressed" not in reason_of(session, cli.token_id, address, rule)
    assert run_cli(capsys, "score", "--incremental").code == 0  # the removal queued it
    with cli.sessions() as session:
        assert [a.status for a in alerts_of(session, address, rule)] == ["dismissed", "open"]
        trail = audit.events(session, object_type="suppression")
    assert [(e.action, e.actor) for e in trail] == [("suppression.remove", "ben"),
                                                    ("suppression.add", "ana")]
    assert trail[1].after["rule"] == rule and trail[1].after["reason"] == "known payroll wallet"
    assert trail[0].before["removed_at"] is None and trail[0].after["removed_by"] == "ben"
    assert json.loads(run_cli(capsys, "suppress", "list", "--format", "json").out) == []
    [old] = json.loads(run_cli(capsys, "suppress", "list", "--all", "--format", "json").out)
    assert old["status"] == "removed"


def test_a_suppressed_reason_of_an_address_still_flagged_raises_no_new_alert(
    cli: Scored, capsys: pytest.CaptureFixture[str]
) -> None:
    """The address stays flagged by its other reasons, whose alerts go on as before."""
    with cli.sessions() as session:
        address, rule = flagging_pairs(session, cli.token_id, alone=False)[0]
        others = [r for a, r in flagging_pairs(session, cli.token_id, alone=False)
                  if a == address and r != rule]
        assert others, "an address two rules each keep flagged"
    with db.transaction(cli.sessions) as session:
        for closing in (rule, others[0]):
            alerts.update_alert(session, alerts_of(session, address, closing)[0].id,
                                actor="ana", status="dismissed")
    assert run_cli(capsys, "suppress", "add", "--address", address, "--rule", rule,
                   "--until", later(), "--reason", "seen").code == 0
    assert run_cli(capsys, "score").code == 0
    with cli.sessions() as session:
        assert address in flagged(session)
        assert "suppressed" in reason_of(session, cli.token_id, address, rule)
        assert [a.status for a in alerts_of(session, address, rule)] == ["dismissed"]
        assert [a.status for a in alerts_of(session, address, others[0])] == [
            "dismissed", "open"]
    # Every report shows the reason, marked.
    csv = run_cli(capsys, "report", "flagged", "--format", "csv").out
    [line] = [x for x in csv.splitlines() if checksum(address) in x]
    assert f"{rule} (" in line and ", suppressed): " in line
    html = run_cli(capsys, "report", "flagged", "--format", "html").out
    assert ", suppressed)" in html
    page = run_cli(capsys, "report", "address", address, "--format", "html")
    assert page.code == 0 and page.out.count("suppressed until") == 1


def test_expiry_writes_back_a_reason_whose_risk_barely_moves(
    cli: Scored, capsys: pytest.CaptureFixture[str]
) -> None:
    """Hiding a weak reason moves the risk less than min_score_change: only the mark
    changes, and that alone makes the new row when the suppression expires."""
    with cli.sessions() as session:
        address, rule = barely_moving(session, cli.token_id)[0]
    assert run_cli(capsys, "suppress", "add", "--address", address, "--rule", rule,
                   "--until", later(), "--reason", "seen").code == 0
    with db.transaction(cli.sessions) as session:
        session.execute(update(Suppression).values(until=datetime.now(UTC) - timedelta(days=1)))
    assert run_cli(capsys, "score", "--incremental").code == 0
    with cli.sessions() as session:
        assert "suppressed" not in reason_of(session, cli.token_id, address, rule)
    done = run_cli(capsys, "score", "--incremental")
    assert "nothing new since the last run" in done.out


@pytest.mark.parametrize("job", ["daemon score job", "score --incremental"])
def test_an_expired_suppression_stops_applying_without_anyone_acting(
    cli: Scored, capsys: pytest.CaptureFixture[str], job: str
) -> None:
    cache = ScoringCache()  # the daemon's: warm, as after its first tick
    jobs.score_and_alert(cli.sessions, cli.settings, "full", cache=cache)
    with cli.sessions() as session:
        address, rule = flagging_pairs(session, cli.token_id)[0]
    assert run_cli(capsys, "suppress", "add", "--address", address, "--rule", rule,
                   "--until", later(), "--reason", "noise").code == 0
    with cli.sessions() as session:
        assert address not in flagged(session)
    with db.transaction(cli.sessions) as session:
        session.execute(update(Suppression).values(until=datetime.now(UTC) - timedelta(days=1)))

    if job == "daemon score job":
        summary = jobs.score_and_alert(cli.sessions, cli.settings, "incremental", cache=cache)
        assert summary.runs, "the expiry made the tick run"
    else:
        assert run_cli(capsys, "score", "--incremental").code == 0
    with cli.sessions() as session:
        assert address in flagged(session)
        assert "suppressed" not in reason_of(session, cli.token_id, address, rule)
    # Once written back, nothing is left to do.
    assert not jobs.score_and_alert(cli.sessions, cli.settings, "incremental", cache=cache).runs
    assert [s["status"] for s in json.loads(run_cli(
        capsys, "suppress", "list", "--all", "--format", "json").out)] == ["expired"]


def test_every_rule_on_one_token_and_the_other_reasons_of_an_address(
    cli: Scored, capsys: pytest.CaptureFixture[str]
) -> None:
    """A suppression without a rule marks every reason; the risk is fused without them.
    One of several reasons suppressed: still shown, the risk fused from the rest."""
    with cli.sessions() as session:
        rows = {a: r for a, r in current_scores(session, cli.token_id).items()
                if len(r.reasons) > 1}
        address = min(rows, key=lambda a: (rows[a].risk_score, a))
        before = rows[address]
    first = before.reasons[0]["rule"]
    assert run_cli(capsys, "suppress", "add", "--address", address, "--rule", first,
                   "--token", TOKEN, "--until", later(), "--reason", "seen").code == 0
    with cli.sessions() as session:
        row = current_score(session, cli.token_id, address)
        assert row is not None and [r["rule"] for r in row.reasons] == [
            r["rule"] for r in before.reasons]  # still computed and shown, in order
        assert ["suppressed" in r for r in row.reasons] == [True] + [False] * (
            len(row.reasons) - 1)
        assert 0 < row.risk_score < before.risk_score
    assert run_cli(capsys, "suppress", "add", "--address", address, "--until", later(5),
                   "--reason", "all of it").code == 0
    with cli.sessions() as session:
        row = current_score(session, cli.token_id, address)
        assert row is not None and row.risk_score == 0 and row.severity == "low"
        assert all("suppressed" in r for r in row.reasons)
        # The reason both cover is marked by the one that holds longer.
        assert row.reasons[0]["suppressed"]["until"].startswith(later())
    assert run_cli(capsys, "score").code == 0
    with cli.sessions() as session:
        assert current_score(session, cli.token_id, address).risk_score == 0  # type: ignore[union-attr]


@pytest.mark.parametrize(("args", "fragment"), [
    (["--address", "0x12", "--rule", "fan_out"], "address"),
    (["--address", "0x" + "ab" * 20, "--rule", "no_such_rule"], "rule: unknown rule id"),
    (["--address", "0x" + "ab" * 20, "--token", "0x" + "cd" * 20], "not registered"),
    (["--address", "0x" + "ab" * 20, "--until", "2001-01-01"], "until: 2001-01-01T00:00:00Z "
                                                                "is not in the future"),
    (["--address", "0x" + "ab" * 20, "--until", "next week"], "'--until'"),
    (["--address", "0x" + "ab" * 20, "--reason", "   "], "reason: required"),
    (["--address", "0x" + "ab" * 20, "--reason", "x" * 4001], "reason: at most 4000"),
    (["--address", "0x" + "ab" * 20, "--actor", "a" * 129], "actor: at most 128"),
])
def test_bad_input_is_one_line_naming_the_option(
    cli: Scored, capsys: pytest.CaptureFixture[str], args: list[str], fragment: str
) -> None:
    given = dict(zip(args[::2], args[1::2], strict=True))
    full = {"--until": later(), "--reason": "why", **given}
    result = run_cli(capsys, "suppress", "add", *[x for kv in full.items() for x in kv])
    assert result.code == 2
    assert_one_line_error(result, fragment)
    with cli.sessions() as session:
        assert session.scalar(select(Suppression.id)) is None
        assert not audit.events(session, object_type="suppression")


def test_missing_options_and_removing_twice_or_nothing(
    cli: Scored, capsys: pytest.CaptureFixture[str]
) -> None:
    assert_one_line_error(run_cli(capsys, "suppress", "add", "--address", "0x" + "ab" * 20,
                                  "--until", later()), "--reason")
    assert_one_line_error(run_cli(capsys, "suppress", "remove", "7"), "suppression 7 not found")
    assert_one_line_error(run_cli(capsys, "suppress", "remove", "0"), "ID")
    assert run_cli(capsys, "suppress", "add", "--address", "0x" + "ab" * 20, "--until",
                   later(), "--reason", "why").code == 0
    assert run_cli(capsys, "suppress", "remove", "1").code == 0
    assert_one_line_error(run_cli(capsys, "suppress", "remove", "1"), "already removed")
    assert_one_line_error(run_cli(capsys, "suppress", "list", "--address", "0xzz"),
                          "--address")
