"""Two chains for the bridge tests: two anvil nodes with distinct chain ids, both ingested
into one Postgres database (helpers in tests/support/bridges.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from support.anvil import run_anvil
from support.bridges import CHAIN_A, CHAIN_B, Chain


@pytest.fixture
def chains() -> Iterator[tuple[Chain, Chain]]:
    with run_anvil(chain_id=CHAIN_A) as a, run_anvil(chain_id=CHAIN_B) as b:
        yield Chain(a, CHAIN_A), Chain(b, CHAIN_B)


@pytest.fixture
def sessions(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = db.make_engine(pg_url)
    yield db.session_factory(engine)
    engine.dispose()
