"""uint256 amounts and UTC timestamps survive both backends exactly."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, select

from models import UINT256_MAX, Block, Chain, Token, Transfer
from monitor import db
from monitor.tokens import add_token


@pytest.fixture
def any_engine(any_db_url: str):
    engine = db.make_engine(any_db_url)
    yield engine
    engine.dispose()


def _seed(engine: Engine) -> int:
    with db.transaction(db.session_factory(engine)) as session:
        token = add_token(session, chain_id=31337, address="0x" + "11" * 20)
        return token.id


def _transfer(token_id: int, n: int, amount: int) -> Transfer:
    return Transfer(
        chain_id=31337, token_id=token_id, block_number=n, block_hash="0x" + "ab" * 32,
        block_time=datetime(2026, 1, 1, tzinfo=UTC), tx_hash=f"0x{n:064x}", log_index=0,
        from_address="0x" + "00" * 20, to_address="0x" + "22" * 20, amount=amount,
    )


AMOUNTS = [0, 1, 2**64, 2**64 + 1, 10**30 + 7, 2**255, UINT256_MAX - 1, UINT256_MAX]


def test_uint256_round_trips_exactly(any_engine: Engine) -> None:
    token_id = _seed(any_engine)
    sessions = db.session_factory(any_engine)
    with db.transaction(sessions) as session:
        session.add_all(_transfer(token_id, n, amount) for n, amount in enumerate(AMOUNTS))
    with sessions() as session:
        stored = session.scalars(select(Transfer.amount).order_by(Transfer.block_number)).all()
        assert stored == AMOUNTS
        assert all(type(value) is int for value in stored)
        # Order by amount is numeric order on both backends (padded text on SQLite).
        by_amount = session.scalars(select(Transfer.amount).order_by(Transfer.amount)).all()
        assert by_amount == sorted(AMOUNTS)
        biggest = session.scalar(select(Transfer).where(Transfer.amount == UINT256_MAX))
        assert biggest is not None and biggest.amount == UINT256_MAX


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(amount=st.integers(min_value=0, max_value=UINT256_MAX))
def test_any_uint256_round_trips(sqlite_url: str, amount: int) -> None:
    engine = db.make_engine(sqlite_url)
    sessions = db.session_factory(engine)
    with db.transaction(sessions) as session:
        session.execute(delete(Transfer))
        token = session.scalar(select(Token)) or add_token(
            session, chain_id=31337, address="0x" + "11" * 20
        )
        session.add(_transfer(token.id, 1, amount))
    with sessions() as session:
        assert session.scalar(select(Transfer.amount)) == amount
    engine.dispose()


@pytest.mark.parametrize("bad", [-1, UINT256_MAX + 1])
def test_out_of_range_amounts_are_refused(any_engine: Engine, bad: int) -> None:
    token_id = _seed(any_engine)
    with pytest.raises(Exception, match="outside uint256"), db.transaction(
        db.session_factory(any_engine)
    ) as session:
        session.add(_transfer(token_id, 1, bad))


def test_floats_are_refused(any_engine: Engine) -> None:
    token_id = _seed(any_engine)
    with pytest.raises(Exception, match="needs an int"), db.transaction(
        db.session_factory(any_engine)
    ) as session:
        session.add(_transfer(token_id, 1, 1.5))  # type: ignore[arg-type]


def test_timestamps_are_utc_aware(any_engine: Engine) -> None:
    moment = datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=8)))
    sessions = db.session_factory(any_engine)
    with db.transaction(sessions) as session:
        session.add(Chain(chain_id=5))
        session.flush()
        session.add(Block(chain_id=5, number=1, hash="0x1", parent_hash="0x0", timestamp=moment))
    with sessions() as session:
        stored = session.scalar(select(Block.timestamp))
        assert stored == moment
        assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
