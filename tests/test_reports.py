"""Report values are exact for any uint256, on both databases."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest

from monitor import db
from monitor.chain.decode import TransferRecord
from monitor.ingest import store
from monitor.reports import html
from monitor.reports.flagged import scaled
from monitor.reports.profile import address_profile
from monitor.tokens import add_token

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
    assert any("3000000.000000000000000003 in 3 transfer(s)" in e for e in edges), edges
    assert any(f"{scaled(MAX, 18)} in 1 transfer(s)" in e for e in edges), edges
    [counterparty] = profile["tokens"][0]["counterparties"]
    assert counterparty["sent_to"] == "3000000.000000000000000003"
    assert counterparty["received_from"] == scaled(MAX, 18)
