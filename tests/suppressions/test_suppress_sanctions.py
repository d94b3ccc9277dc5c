"""Sanctions are never suppressible: a watchlist_exposure reason that comes from a
sanctioned list is never marked, whatever suppression is in force, and a suppression that
would cover one is refused at creation. The same exposure from a mixer list is
suppressible, which shows the line is drawn by the list's category."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Suppression, Transfer
from monitor import db
from monitor.addresses import ZERO, checksum
from monitor.errors import Conflict
from monitor.scoring.config import DEFAULTS
from monitor.scoring.scores import current_score
from monitor.scoring.suppressions import add, sanctioned_source
from support.cli import assert_one_line_error, run_cli
from support.rules import RULES_FILE
from support.suppressing import Scored, flagged, flagging_pairs, later, reason_of

EXPOSURE = "watchlist_exposure"


def _counterparty(session: Session, address: str) -> str:
    """The address's largest counterparty (not the zero address)."""
    sent = select(Transfer.to_address.label("other"), Transfer.amount).where(
        Transfer.from_address == address, Transfer.to_address != ZERO)
    got = select(Transfer.from_address.label("other"), Transfer.amount).where(
        Transfer.to_address == address, Transfer.from_address != ZERO)
    both = sent.union_all(got).subquery()
    return str(session.scalar(
        select(both.c.other).group_by(both.c.other)
        .order_by(func.sum(both.c.amount).desc(), both.c.other).limit(1)))


def _import(capsys: pytest.CaptureFixture[str], tmp_path: Path, name: str, category: str,
            address: str) -> None:
    listing = tmp_path / f"{name}.txt"
    listing.write_text(address + "\n")
    done = run_cli(capsys, "watchlist", "import", str(listing), "--list", name, "--category",
                   category)
    assert done.code == 0, done.err


def test_exposure_from_a_sanctioned_list_is_never_hidden_nor_suppressible(
    scored: Scored, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", scored.url)
    monkeypatch.setenv("AMLMON_RULES_FILE", str(RULES_FILE))
    with scored.sessions() as session:
        address, other_rule = flagging_pairs(session, scored.token_id)[0]
        target = _counterparty(session, address)

    # A mixer: its exposure may be suppressed.
    _import(capsys, tmp_path, "mixers", "mixer", target)
    with scored.sessions() as session:
        assert "mixer address" in str(reason_of(session, scored.token_id, address, EXPOSURE)
                                      ["detail"])
    added = run_cli(capsys, "suppress", "add", "--address", address, "--rule", EXPOSURE,
                    "--until", later(), "--reason", "known mixer deposit")
    assert added.code == 0, added.err
    with scored.sessions() as session:
        assert "suppressed" in reason_of(session, scored.token_id, address, EXPOSURE)

    # The same address becomes sanctioned: the suppression in force no longer hides it.
    _import(capsys, tmp_path, "ofac", "sanctioned", target)
    with scored.sessions() as session:
        reason = reason_of(session, scored.token_id, address, EXPOSURE)
        assert "sanctioned address" in str(reason["detail"])
        assert "suppressed" not in reason
        assert sanctioned_source(session, scored.token_id, address, reason) == "ofac"
        assert address in flagged(session)

    # Refused at creation, for the rule and for every rule; another rule still may be.
    for args in (["--rule", EXPOSURE], []):
        refused = run_cli(capsys, "suppress", "add", "--address", address, *args, "--until",
                          later(), "--reason", "noise")
        assert_one_line_error(refused, "sanctions cannot be suppressed")
        assert "ofac" in refused.err and refused.code == 2
    assert "name the rules to suppress" in refused.err
    assert run_cli(capsys, "suppress", "add", "--address", address, "--rule", other_rule,
                   "--until", later(), "--reason", "seen").code == 0
    # The listed address itself, on any token.
    assert_one_line_error(run_cli(capsys, "suppress", "add", "--address", checksum(target),
                                  "--until", later(), "--reason", "noise"),
                          "sanctions cannot be suppressed")

    # Re-scores never hide it either, and the other rule's suppression holds.
    assert run_cli(capsys, "score").code == 0
    with scored.sessions() as session:
        assert "suppressed" not in reason_of(session, scored.token_id, address, EXPOSURE)
        assert "suppressed" in reason_of(session, scored.token_id, address, other_rule)
        row = current_score(session, scored.token_id, address)
        assert row is not None and row.risk_score >= DEFAULTS.flag_min_risk
        assert session.scalar(select(func.count()).select_from(Suppression)) == 2


def test_a_suppression_made_before_the_listing_never_hides_it(
    scored: Scored, capsys: pytest.CaptureFixture[str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Known at creation or not: a suppression of every rule made while the address had
    no exposure leaves the sanctioned exposure that appears later unmarked."""
    monkeypatch.setenv("AMLMON_DATABASE_URL", scored.url)
    monkeypatch.setenv("AMLMON_RULES_FILE", str(RULES_FILE))
    with scored.sessions() as session:
        address, rule = flagging_pairs(session, scored.token_id)[0]
        target = _counterparty(session, address)
    soon = datetime.now(UTC) + timedelta(days=30)
    with db.transaction(scored.sessions) as session:
        add(session, address=address, until=soon, reason="all noise", actor="ana",
            weights=DEFAULTS.weights)
    with scored.sessions() as session:
        assert address not in flagged(session)
    _import(capsys, tmp_path, "ofac", "sanctioned", target)
    with scored.sessions() as session:
        assert "suppressed" not in reason_of(session, scored.token_id, address, EXPOSURE)
        assert "suppressed" in reason_of(session, scored.token_id, address, rule)
        assert address in flagged(session)
    with db.transaction(scored.sessions) as session, pytest.raises(Conflict, match="ofac"):
        add(session, address=address, rule=EXPOSURE, until=soon, reason="x", actor="ana",
            weights=DEFAULTS.weights)


def test_the_reason_alone_says_sanctioned_when_the_list_changed_since(
    scored: Scored,
) -> None:
    """A reason written when its target was sanctioned stays unsuppressible until a
    re-score writes it again, even if the list no longer names the target: its category
    says so, not its sentence. A reason written before reasons carried their category
    counts as sanctioned."""
    target = checksum("0x" + "5a" * 20)
    reason = {"rule": EXPOSURE, "score": 90, "evidence": [], "list": "OFAC SDN",
              "category": "sanctioned", "listed": target,
              "detail": f"40% of its inflow is directly received from sanctioned address "
                        f"{target} (OFAC SDN: Someone); path …"}
    listed = {"rule": EXPOSURE, "score": 100, "evidence": [], "list": "OFAC SDN",
              "category": "sanctioned", "listed": checksum("0x" + "11" * 20),
              "detail": "is listed on OFAC SDN (sanctioned: Someone) and made 3 transfer(s)"}
    mixer = {**reason, "list": "mixers", "category": "mixer",
             "detail": "a sentence that says sanctioned, which nothing reads"}
    old = {key: value for key, value in mixer.items()
           if key not in ("list", "category", "listed")}
    with scored.sessions() as session:
        for sanctioned in (reason, listed):
            assert sanctioned_source(session, scored.token_id, "0x" + "11" * 20,
                                     sanctioned) == "OFAC SDN"
        assert sanctioned_source(session, scored.token_id, "0x" + "11" * 20, mixer) is None
        assert sanctioned_source(session, scored.token_id, "0x" + "11" * 20,
                                 old) == "a sanctioned list"
        assert sanctioned_source(session, scored.token_id, "0x" + "11" * 20,
                                 {**reason, "rule": "fan_out"}) is None
