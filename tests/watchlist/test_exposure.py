"""Sanctions screening end to end: anvil → ingest → list import → retroactive alerts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from models import Alert, DirtyAddress
from monitor.addresses import checksum as cs
from support.anvil import run_anvil
from support.cli import run_cli
from support.ingest import ingest, register
from support.rules import RULES_FILE
from support.token import deploy

FIXTURES = Path(__file__).parent / "fixtures"
SANCTIONED = "0x901bb9583b24d97e995513c6778dc6888ab6870e"  # in sdn_sample.xml (LIFSHITS)
DIRECT, TWO_HOPS, CLEAN, OTHER = ("0x" + c * 40 for c in "abcd")


def _reasons(capsys: Any, address: str) -> list[dict[str, Any]]:
    report = json.loads(run_cli(capsys, "report", "address", address).out)
    return [r for token in report["tokens"] for r in token["reasons"]]


def test_direct_and_indirect_exposure_found_retroactively_and_withdrawn_with_the_list(
    pg_url: str, make_sessions: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    monkeypatch.setenv("AMLMON_RULES_FILE", str(RULES_FILE))
    sessions = make_sessions(pg_url)
    with run_anvil() as node:
        token = deploy(node)
        register(sessions, token)
        token.batch_mint([SANCTIONED, CLEAN], [10**12, 10**12])
        token.batch_forced_transfer([SANCTIONED], [DIRECT], [4 * 10**11])
        token.batch_forced_transfer([DIRECT], [TWO_HOPS], [3 * 10**11])
        token.batch_forced_transfer([CLEAN], [OTHER], [10**11])
        ingest(sessions, [node.url])

    assert run_cli(capsys, "score").code == 0
    assert not any(r["rule"] == "watchlist_exposure" for r in _reasons(capsys, DIRECT))

    # A list imported later re-screens the stored history at once.
    imported = run_cli(capsys, "watchlist", "import", str(FIXTURES / "sdn_sample.xml"),
                       "--list", "ofac-sdn")
    assert imported.code == 0, imported.err
    assert "re-screened 1 token(s)" in imported.out
    [direct] = [r for r in _reasons(capsys, DIRECT) if r["rule"] == "watchlist_exposure"]
    assert "directly received from sanctioned address" in direct["detail"]
    assert f"path {cs(DIRECT)} → {cs(SANCTIONED)}" in direct["detail"]  # as reports show them
    assert "400,000 on the first leg" in direct["detail"]
    [indirect] = [r for r in _reasons(capsys, TWO_HOPS) if r["rule"] == "watchlist_exposure"]
    assert "2 hops received from sanctioned" in indirect["detail"]
    assert f"path {cs(TWO_HOPS)} → {cs(DIRECT)} → {cs(SANCTIONED)}" in indirect["detail"]
    assert len(indirect["evidence"]) == 2
    assert direct["score"] > indirect["score"]
    listed = _reasons(capsys, SANCTIONED)
    assert any("is listed on ofac-sdn (sanctioned: LIFSHITS" in r["detail"] for r in listed)
    assert not any(r["rule"] == "watchlist_exposure" for r in _reasons(capsys, OTHER))
    with sessions() as session:
        alerts = {(a.address, a.rule) for a in session.scalars(select(Alert))}
    assert {(DIRECT, "watchlist_exposure"), (TWO_HOPS, "watchlist_exposure")} <= alerts

    # The same list name re-imported without that entry: the exposure no longer holds.
    replacement = tmp_path / "ofac.txt"
    replacement.write_text("# delisted\n0x" + "ee" * 20 + "\n")
    assert run_cli(capsys, "watchlist", "import", str(replacement), "--list", "ofac-sdn").code == 0
    assert not any(r["rule"] == "watchlist_exposure" for r in _reasons(capsys, DIRECT))
    assert not any(r["rule"] == "watchlist_exposure" for r in _reasons(capsys, TWO_HOPS))

    # Listed again without re-screening at once: the next incremental run (the daemon's
    # `score` tick) re-screens although nothing new was ingested.
    assert run_cli(capsys, "watchlist", "import", str(FIXTURES / "sdn_sample.xml"), "--list",
                   "ofac-sdn", "--no-rescreen").code == 0
    assert not any(r["rule"] == "watchlist_exposure" for r in _reasons(capsys, DIRECT))
    assert run_cli(capsys, "score", "--incremental").code == 0
    assert any(r["rule"] == "watchlist_exposure" for r in _reasons(capsys, DIRECT))
    assert run_cli(capsys, "score", "--incremental").code == 0  # and then nothing is left
    with sessions() as session:
        assert not session.scalar(select(func.count()).select_from(DirtyAddress))


def test_value_to_an_address_outside_the_kyc_allowlist_is_a_reason(
    pg_url: str, make_sessions: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("AMLMON_DATABASE_URL", pg_url)
    monkeypatch.setenv("AMLMON_RULES_FILE", str(RULES_FILE))
    sessions = make_sessions(pg_url)
    with run_anvil() as node:
        token = deploy(node)
        register(sessions, token)
        token.batch_mint([CLEAN, DIRECT], [10**12, 10**12])
        token.batch_forced_transfer([CLEAN, DIRECT], [DIRECT, OTHER], [10**9, 5 * 10**9])
        ingest(sessions, [node.url])
    allowlist = tmp_path / "investors.csv"
    allowlist.write_text(f"address,label\n{CLEAN},fund A\n{DIRECT},fund B\n")
    done = run_cli(capsys, "watchlist", "import", str(allowlist), "--list", "kyc",
                   "--category", "kyc_investor")
    assert done.code == 0, done.err
    [reason] = [r for r in _reasons(capsys, OTHER) if r["rule"] == "non_kyc_recipient"]
    assert "received 5,000 in 1 transfer(s)" in reason["detail"]
    assert not any(r["rule"] == "non_kyc_recipient" for r in _reasons(capsys, DIRECT))
