"""Whole-token totals (a first run's one pass over the token) are exact on both backends."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine

from models import UINT256_MAX, Transfer
from monitor import db
from monitor.scoring import scores
from monitor.tokens import add_token


@pytest.fixture
def any_engine(any_db_url: str):
    engine = db.make_engine(any_db_url)
    yield engine
    engine.dispose()


def test_one_pass_totals_are_exact_uint256_sums(any_engine: Engine,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(scores, "WHOLE_TOKEN", 0)
    a, b = "0x" + "aa" * 20, "0x" + "bb" * 20
    amounts = [UINT256_MAX // 2, UINT256_MAX // 2 - 7, 1]  # floats would lose the 7 and 1
    with db.transaction(db.session_factory(any_engine)) as session:
        token = add_token(session, chain_id=31337, address="0x" + "11" * 20)
        session.add_all(Transfer(
            chain_id=31337, token_id=token.id, block_number=n, block_hash="0x" + "ab" * 32,
            block_time=datetime(2026, 1, 1 + n, tzinfo=UTC), tx_hash=f"0x{n:064x}",
            log_index=0, from_address=a, to_address=b, amount=amount)
            for n, amount in enumerate(amounts))
        session.flush()
        totals = scores._exact_totals(session, 31337, token.id, [a, b], None)
    assert totals[a]["out_value"] == totals[b]["in_value"] == sum(amounts)
    assert (totals[a]["out_count"], totals[b]["in_count"]) == (3, 3)
    assert totals[b]["first_seen"] == datetime(2026, 1, 1, tzinfo=UTC)
    assert totals[b]["last_seen"] == datetime(2026, 1, 3, tzinfo=UTC)
