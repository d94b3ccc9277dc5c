"""Session-wide real parts: a Postgres server, migrated databases, anvil nodes."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from support.postgres import clone_database, create_database, drop_database, postgres_server


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    with postgres_server() as url:
        yield url


@pytest.fixture(scope="session")
def pg_template(pg_server: str) -> Iterator[str]:
    """One migrated database per session; tests get cheap copies of it."""
    url = create_database(pg_server, prefix=f"amlmon_test_{uuid.uuid4().hex[:6]}_tmpl")
    db.upgrade(url)
    db.make_engine(url).dispose()
    yield url
    drop_database(url)


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated Postgres database for one test, dropped afterwards."""
    url = clone_database(pg_template)
    yield url
    drop_database(url)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh, migrated embedded SQLite database."""
    url = f"sqlite:///{tmp_path / 'amlmon.db'}"
    db.upgrade(url)
    return url


@pytest.fixture(params=["postgres", "sqlite"])
def any_db_url(request: pytest.FixtureRequest) -> str:
    """Both supported backends, for behaviour that must hold on each."""
    name = "pg_url" if request.param == "postgres" else "sqlite_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def engine(pg_url: str) -> Iterator[Engine]:
    engine = db.make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def make_sessions() -> Iterator[Callable[[str], sessionmaker[Session]]]:
    """Session factories for database URLs; their engines are disposed after the test."""
    engines: list[Engine] = []

    def make(url: str) -> sessionmaker[Session]:
        engines.append(db.make_engine(url))
        return db.session_factory(engines[-1])

    yield make
    for engine in engines:
        engine.dispose()
