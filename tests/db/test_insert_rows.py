"""db.insert_rows: a big write's rows as COPY on Postgres, an executemany on SQLite, both
storing what an ORM insert stores (bind processing, Python-side defaults, ids)."""

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, select

from models import UINT256_MAX, AddressScore, ScoreRun
from monitor import db
from monitor.tokens import add_token


@pytest.fixture
def any_engine(any_db_url: str):
    engine = db.make_engine(any_db_url)
    yield engine
    engine.dispose()


def _run(engine: Engine) -> tuple[int, int]:
    with db.transaction(db.session_factory(engine)) as session:
        token = add_token(session, chain_id=31337, address="0x" + "11" * 20)
        run = ScoreRun(kind="full", token_id=token.id, status="done")
        session.add(run)
        session.flush()
        return token.id, run.id


def _row(token_id: int, run_id: int, k: int, **changes: Any) -> dict[str, Any]:
    row = {"score_run_id": run_id, "token_id": token_id, "address": f"0x{k:040x}",
           "risk_score": k % 101, "severity": "low", "anomaly_score": None if k % 2 else 0.25,
           "reasons": [{"rule": "fan_out", "score": k % 100, "detail": "tab\there, \"quotes\"",
                        "evidence": [f"0x{k:064x}"]}] if k % 3 else [],
           "features": {"out_count": float(k), "note": "back\\slash\nnewline"},
           "first_seen": datetime(2026, 1, 1, 8, tzinfo=timezone(timedelta(hours=8))),
           "last_seen": None, "in_count": k, "out_count": 0,
           "in_value": [0, 1, 2**64 + 1, UINT256_MAX][k % 4], "out_value": k}
    return row | changes


def _stored(engine: Engine) -> list[tuple[Any, ...]]:
    with db.session_factory(engine)() as session:
        return [(r.address, r.risk_score, r.anomaly_score, r.reasons, r.features, r.first_seen,
                 r.last_seen, r.in_count, r.in_value, r.out_value)
                for r in session.scalars(select(AddressScore).order_by(AddressScore.address))]


def test_rows_are_stored_as_an_orm_insert_stores_them(any_engine: Engine) -> None:
    token_id, run_id = _run(any_engine)
    rows = [_row(token_id, run_id, k) for k in range(50)]
    before = datetime.now(UTC)
    with db.transaction(db.session_factory(any_engine)) as session:
        db.insert_rows(session, AddressScore, iter(rows))  # a generator is read once
        db.insert_rows(session, AddressScore, [])
    stored = _stored(any_engine)
    assert stored == [(r["address"], r["risk_score"], r["anomaly_score"], r["reasons"],
                       r["features"], r["first_seen"], None, r["in_count"], r["in_value"],
                       r["out_value"]) for r in rows]
    assert all(type(s[8]) is int for s in stored)  # exact, not Decimal or float
    with db.session_factory(any_engine)() as session:
        ids = session.scalars(select(AddressScore.id)).all()
        stamps = session.scalars(select(AddressScore.computed_at)).all()
    assert len(set(ids)) == 50  # from the table's sequence
    assert all(db.as_utc(stamp) >= before - timedelta(seconds=5) for stamp in stamps)


@pytest.mark.parametrize("bad", [-1, UINT256_MAX + 1])
def test_out_of_range_amounts_are_refused_and_nothing_is_written(
        any_engine: Engine, bad: int) -> None:
    token_id, run_id = _run(any_engine)
    rows = [_row(token_id, run_id, 1), _row(token_id, run_id, 2, in_value=bad)]
    with pytest.raises(Exception, match="outside uint256"), db.transaction(
            db.session_factory(any_engine)) as session:
        db.insert_rows(session, AddressScore, rows)
    assert _stored(any_engine) == []


def test_ids_drawn_ahead_are_the_rows_ids(pg_url: str) -> None:
    engine = db.make_engine(pg_url)
    try:
        token_id, run_id = _run(engine)
        with db.transaction(db.session_factory(engine)) as session:
            ids = db.next_ids(session, AddressScore, 3)
            db.insert_rows(session, AddressScore, [
                _row(token_id, run_id, k) | {"id": ids[k]} for k in range(3)])
            session.add(AddressScore(**_row(token_id, run_id, 3)))  # the sequence moved on
        with db.session_factory(engine)() as session:
            query = select(AddressScore.address, AddressScore.id)
            stored = {address: row_id for address, row_id in session.execute(query)}
        assert [stored[f"0x{k:040x}"] for k in range(3)] == ids
        assert len(set(stored.values())) == 4
    finally:
        engine.dispose()
