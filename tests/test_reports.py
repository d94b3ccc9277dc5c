"""Report values are exact for any uint256, on both databases."""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor import db
from monitor.amounts import scaled, shown
from monitor.chain.decode import TransferRecord
from monitor.ingest import store
from monitor.reports import export, flagged, html
from monitor.reports.profile import address_profile
from monitor.tokens import add_token
from monitor.watchlist.service import summaries
from support import bulk

MAX = 2**256 - 1
TOKEN, A, B = "0x" + "ab" * 20, "0x" + "11" * 20, "0x" + "22" * 20


@pytest.mark.parametrize(("value", "decimals", "text"), [
    (MAX, 18, "115792089237316195423570985008687907853269984665640564039457.584007913129639935"),
    (MAX, 0, str(MAX)),
    (1234500, 6, "1.2345"),
    (10**18, 18, "1"),
    (1, 18, "0.000000000000000001"),
    (0, 6, "0"),
])
def test_scaled_is_exact(value: int, decimals: int, text: str) -> None:
    assert scaled(value, decimals) == text


def test_address_page_and_profile_sum_exactly(any_db_url: str, make_sessions: Any) -> None:
    """SQLite's SUM goes through floats; the picture's edge totals must not."""
    sessions = make_sessions(any_db_url)
    with db.transaction(sessions) as session:
        token_id = add_token(session, chain_id=1, address=TOKEN, decimals=18).id
        records = [TransferRecord(1, "0x" + "01" * 32, f"0x{i + 1:064x}", i, 0, TOKEN, A, B,
                                  10**24 + i) for i in range(3)]
        records.append(TransferRecord(1, "0x" + "01" * 32, "0x" + "ff" * 32, 9, 0, TOKEN, B, A,
                                      MAX))
        store.write_transfers(session, 1, {TOKEN: token_id}, records, {1: datetime.now(UTC)})
    with sessions() as session:
        page = html.address_page(session, A)
        profile = address_profile(session, A)
    edges = [t for t in re.findall(r"<title>([^<]*)</title>", page) if "→" in t]
    # A page is read by people: the same exact digits, grouped by thousands.
    assert any("3,000,000.000000000000000003 in 3 transfer(s)" in e for e in edges), edges
    assert any(f"{shown(MAX, 18)} in 1 transfer(s)" in e for e in edges), edges
    [counterparty] = profile["tokens"][0]["counterparties"]
    assert counterparty["sent_to"] == "3000000.000000000000000003"
    assert counterparty["received_from"] == scaled(MAX, 18)


def test_profile_ranks_counterparties_by_value_and_counts_them_all(
    any_db_url: str, make_sessions: Any
) -> None:
    """The database ranks and counts, on both backends: the largest first (ties by
    address), a transfer to itself once, counts and totals whatever `counterparties` is."""
    sessions = make_sessions(any_db_url)
    c, d = "0x" + "33" * 20, "0x" + "44" * 20
    with db.transaction(sessions) as session:
        token_id = add_token(session, chain_id=1, address=TOKEN, decimals=0).id
        moves = [(A, B, 5), (c, A, 7), (A, c, 1), (d, A, 8), (A, A, 2), (B, A, 3)]
        records = [TransferRecord(1 + i, f"0x{i + 1:064x}", f"0x{i + 1:064x}", 0, 0, TOKEN,
                                  sender, receiver, amount)
                   for i, (sender, receiver, amount) in enumerate(moves)]
        store.write_transfers(session, 1, {TOKEN: token_id}, records,
                              {1 + i: datetime.now(UTC) for i in range(len(moves))})
    with sessions() as session:
        [entry] = address_profile(session, A, limit=2, counterparties=3)["tokens"]
        [bare] = address_profile(session, A, limit=0, counterparties=0)["tokens"]
    assert [(cp["address"].lower(), cp["received_from"], cp["sent_to"], cp["transfers"])
            for cp in entry["counterparties"]] == [
        (B, "3", "5", 2), (c, "7", "1", 2), (d, "8", "0", 1)]  # 8 = 8 = 8: by address
    assert (entry["counterparty_count"], entry["transfer_count"]) == (4, 6)
    assert [t["amount"] for t in entry["transfers"]] == ["3", "2"]  # the latest first
    assert (bare["counterparties"], bare["transfers"]) == ([], [])
    assert (bare["counterparty_count"], bare["transfer_count"]) == (4, 6)


def _peak(read: Callable[[], Any], warm: Callable[[], Any] | None = None) -> tuple[Any, float]:
    """What read() returns, and the peak of Python allocations while it ran, in MiB.
    `warm` (default: read itself) runs first, so that statement compilation and imports
    are not counted as the read's."""
    (warm or read)()
    tracemalloc.start()
    try:
        result = read()
        return result, tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def test_reads_hold_a_page_not_the_history(pg_url: str, make_sessions: Any) -> None:
    """A hub in 100,000 transfers among 10,000 counterparties, 8,000 flagged addresses
    (16,000 score rows), a list imported three times with 100,000 addresses: every read
    peaks at a few MiB of Python memory, what its page holds, where reading the history
    into Python took hundreds (bench/reports.py prints the figures at 1M transfers)."""
    sessions = make_sessions(pg_url)
    token_id = bulk.write_hub(sessions, 100_000, 10_000)
    bulk.write_flagged(sessions, token_id, 8_000)
    bulk.write_list_history(sessions, 3, 100_000)
    with sessions() as session:
        profile, peak = _peak(lambda: address_profile(session, bulk.HUB, limit=100,
                                                      counterparties=25))
        [entry] = profile["tokens"]
        assert entry["transfer_count"] == 100_000 and len(entry["transfers"]) == 100
        assert 9_900 < entry["counterparty_count"] <= 10_000
        totals = [float(c["received_from"]) + float(c["sent_to"])
                  for c in entry["counterparties"]]
        assert len(totals) == 25 and totals == sorted(totals, reverse=True)
        assert peak < 2, peak

        _, peak = _peak(lambda: html.address_page(session, bulk.HUB))
        assert peak < 16, peak  # + the picture's layout and the page's text

        (items, after), peak = _peak(lambda: flagged.flagged_page(session, None, 50, 100))
        assert len(items) == 100 and after is not None and peak < 4, peak
        following, _ = flagged.flagged_page(session, None, 50, 100, after)
        def order(entry: dict[str, Any]) -> tuple[int, str]:
            return -entry["risk_score"], entry["address"].lower()

        assert order(items[-1]) < order(following[0])  # the next page starts after this one

        rows, peak = _peak(lambda: sum(chunk.count("\n") for chunk in export.flagged_report(
            session, None, 50, "csv")), warm=lambda: list(export.flagged_report(
                session, None, 99, "csv")))
        assert rows == 8_000 + 1 and peak < 8, peak  # the whole report, 500 rows at a time

        lists, peak = _peak(lambda: summaries(session))
        assert [(w["last_added"], w["last_removed"]) for w in lists] == [(100_000, 50_000)]
        assert peak < 1, peak
