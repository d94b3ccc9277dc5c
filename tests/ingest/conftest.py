"""Fixtures of the ingest tests: a fresh anvil node and sessions on a fresh database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from support.anvil import Anvil, run_anvil


@pytest.fixture
def node() -> Iterator[Anvil]:
    with run_anvil() as anvil:
        yield anvil


@pytest.fixture
def sessions(pg_url: str) -> Iterator[sessionmaker[Session]]:
    engine = db.make_engine(pg_url)
    yield db.session_factory(engine)
    engine.dispose()
