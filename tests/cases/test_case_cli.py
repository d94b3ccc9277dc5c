"""`amlmon case …` in-process on a scored Postgres copy: the lifecycle from a pattern to an
approved close, the two-person rule, exports, and bad input as one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from models import AuditEvent
from support.cases import pattern_with_alerts
from support.cli import assert_one_line_error, run_cli
from support.history import TOKEN

ENTITY = """
reporting_entity:
  rentity_id: 4711
  rentity_branch: Head office
  reporting_user_code: AMLMON01
  currency_code_local: EUR
  location:
    address: Bahnhofstrasse 1
    city: Zug
    country_code: CH
"""


@pytest.fixture
def cli(scored: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AMLMON_DATABASE_URL", scored.url)
    monkeypatch.setenv("USER", "alice")  # the default actor
    return scored


def _ok(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    result = run_cli(capsys, *args)
    assert result.code == 0, result.err
    return result.out


def test_the_lifecycle_from_a_pattern_to_an_approved_close(
        cli: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pattern_id, _, alert_ids = pattern_with_alerts(cli.sessions)
    out = _ok(capsys, "case", "open", "--pattern", str(pattern_id), "--title", "Fan-in ring",
              "--priority", "high", "--due", "2026-06-30")
    assert out.startswith("case 1 opened: ") and f"{len(alert_ids)} alert(s), 1 pattern(s)" in out
    narrative = tmp_path / "narrative.txt"
    narrative.write_text("Mules feed one collector.\nIt pays out the same day.\n",
                         encoding="utf-8")
    assert _ok(capsys, "case", "update", "1", "--status", "investigating",
               "--narrative-file", str(narrative), "--assignee", "alice") == \
        "case 1: investigating\n"
    _ok(capsys, "case", "update", "1", "--note", "Issuer asked for KYC files.")
    out = _ok(capsys, "case", "update", "1", "--propose", "reported")
    assert out == "case 1: pending_approval (close proposed as reported by alice)\n"

    assert_one_line_error(run_cli(capsys, "case", "approve", "1"), "alice proposed this "
                          "close and cannot approve")  # $USER proposed it
    assert_one_line_error(run_cli(capsys, "case", "approve", "1", "--reject",
                                  "--actor", "carol"), "note: say why")
    assert _ok(capsys, "case", "approve", "1", "--reject", "--note", "Add the exchange.",
               "--actor", "carol") == "case 1: sent back to investigating\n"
    _ok(capsys, "case", "update", "1", "--propose", "reported", "--note", "Exchange named.")
    assert _ok(capsys, "case", "approve", "1", "--actor", "carol") == \
        "case 1: closed as reported\n"

    shown = json.loads(_ok(capsys, "case", "show", "1", "--format", "json"))
    assert (shown["status"], shown["outcome"], shown["approved_by"], shown["proposed_by"]) == (
        "closed", "reported", "carol", "alice")
    assert shown["due_at"] == "2026-06-30T00:00:00Z" and shown["assignee"] == "alice"
    assert shown["narrative"] == narrative.read_text().strip()
    assert [a["id"] for a in shown["alerts"]] == alert_ids
    assert {(a["status"], a["outcome"], a["active"]) for a in shown["alerts"]} == {
        ("reported", "reported", False)}
    assert [n["text"] for n in shown["notes"]] == [
        "Issuer asked for KYC files.", "Add the exchange.", "Exchange named."]
    assert [e["action"] for e in shown["trail"]] == [
        "case.open", "case.update", "case.note", "case.propose", "case.reject", "case.note",
        "case.propose", "case.approve"]
    assert {e["actor"] for e in shown["trail"]} == {"alice", "carol"}

    table = _ok(capsys, "case", "show", "1")
    assert "case 1: Fan-in ring" in table and "Mules feed one collector." in table
    assert "case.approve" in table and "Trail" in table
    listed = json.loads(_ok(capsys, "case", "list", "--status", "closed", "--format", "json"))
    assert [c["id"] for c in listed] == [1] and listed[0]["alert_count"] == len(alert_ids)
    assert json.loads(_ok(capsys, "case", "list", "--status", "open", "--format", "json")) == []
    assert "Fan-in ring" in _ok(capsys, "case", "list", "--assignee", "alice")

    assert_one_line_error(run_cli(capsys, "case", "update", "1", "--note", "late"),
                          "case 1 is closed")
    # A reason suppressed since shows as such on the case's page.
    noisy = shown["alerts"][0]
    _ok(capsys, "suppress", "add", "--address", noisy["address"], "--rule", noisy["rule"],
        "--until", "2999-01-01", "--reason", "known market maker")
    page = tmp_path / "case.html"
    assert _ok(capsys, "case", "export", "1", "--output", str(page)) == \
        f"case 1: html report written to {page}\n"
    html = page.read_text(encoding="utf-8")
    assert "Case 1: Fan-in ring" in html and '<svg class="flow"' in html
    assert "approved the close as reported" in html
    assert "suppressed until 2999-01-01" in html

    with cli.sessions() as session:
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "case").order_by(AuditEvent.id)).all()
    assert actions == [e["action"] for e in shown["trail"]]


def test_the_one_open_case_rule_and_bad_input_are_one_line_errors(
        cli: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pattern_id, _, alert_ids = pattern_with_alerts(cli.sessions)
    _ok(capsys, "case", "open", "--alert", str(alert_ids[0]), "--title", "First")
    for args, fragment in (
        (("case", "open", "--pattern", str(pattern_id), "--title", "Second"),
         f"alert {alert_ids[0]} is already in open case 1"),
        (("case", "open", "--alert", "999999", "--title", "T"),
         "alerts: alert 999999 does not exist"),
        (("case", "open", "--pattern", "999999", "--title", "T"),
         "patterns: pattern 999999 does not exist"),
        (("case", "open", "--address", "0xnope", "--title", "T"), "addresses: address"),
        (("case", "open", "--title", "T"), "give at least one alert, pattern or address"),
        (("case", "open", "--address", TOKEN, "--title", "T", "--due", "soon"),
         "'--due': 'soon' is not an ISO-8601 date"),
        (("case", "open", "--address", TOKEN, "--title", "x" * 201), "title: must be 1-200"),
        (("case", "update", "1", "--propose", "guilty"), "'guilty' is not one of"),
        (("case", "update", "1", "--status", "closed"), "'closed' is not one of"),
        (("case", "update", "1"), "nothing to change"),
        (("case", "update", "7", "--note", "x"), "case 7 not found"),
        (("case", "update", "1", "--due", "2026-01-01", "--clear-due"),
         "--due and --clear-due"),
        (("case", "update", "1", "--narrative-file", str(tmp_path / "missing.txt")),
         "--narrative-file: cannot read"),
        (("case", "approve", "1", "--actor", "carol"), "case 1 is open; only a case pending "
         "approval"),
        (("case", "show", "7"), "case 7 not found"),
        (("case", "export", "1", "--output", str(tmp_path / "no" / "dir.html")),
         "--output: cannot write"),
        (("case", "export", "1", "--output", str(tmp_path / "x.html"), "--price",
          f"{TOKEN}=1"), "--price: only for --format goaml"),
        (("case", "list", "--status", "shut"), "'shut' is not one of"),
    ):
        assert_one_line_error(run_cli(capsys, *args), fragment)
    assert not (tmp_path / "x.html").exists()


def test_goaml_export_writes_a_valid_report_or_nothing(
        cli: Any, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    pytest.importorskip("monitor.cases.goaml", reason="the goAML writer is another part's")
    pattern_id = pattern_with_alerts(cli.sessions)[0]
    _ok(capsys, "case", "open", "--pattern", str(pattern_id), "--title", "STR")
    target = tmp_path / "str.xml"
    # Without a reporting entity the report is refused by name and nothing is written.
    assert_one_line_error(run_cli(capsys, "case", "export", "1", "--format", "goaml",
                                  "--output", str(target)), "rentity_id")
    assert not target.exists()
    assert_one_line_error(run_cli(capsys, "case", "export", "1", "--format", "goaml",
                                  "--output", str(target), "--price", f"{TOKEN}=-1"),
                          "the price must be a positive decimal")
    config = tmp_path / "monitor.yaml"
    config.write_text(ENTITY, encoding="utf-8")
    out = _ok(capsys, "--config", str(config), "case", "export", "1", "--format", "goaml",
              "--output", str(target), "--price", f"{TOKEN}=1.25")
    assert out == f"case 1: goaml report written to {target}\n"
    document = target.read_bytes()
    assert document.startswith(b"<?xml") and b"<report_code>STR</report_code>" in document
