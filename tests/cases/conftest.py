"""A scored database with alerts and patterns, built once per module; each test works on
its own copy, with keys for every role and two people of some roles (the two-person rule
needs them), and the API serving it when the test asks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor import db
from monitor.api.app import create_app
from monitor.apikeys import create_key
from monitor.settings import Settings
from support.api import serve_app
from support.history import write_scored_history
from support.postgres import clone_database, drop_database

# key name -> role; a key's name is its actor
KEYS = {"viewer": "viewer", "alice": "investigator", "bob": "investigator",
        "carol": "supervisor", "dave": "supervisor", "root": "admin"}


@dataclass
class Scored:
    url: str
    sessions: sessionmaker[Session]
    settings: Settings
    keys: dict[str, str] = field(default_factory=dict)  # name -> key


@pytest.fixture(scope="module")
def scored_template(pg_template: str) -> Iterator[str]:
    """A migrated database with a simulated history, scored, with alerts and patterns; no
    connection stays open, so it can be copied."""
    url = clone_database(pg_template)
    write_scored_history(url)
    yield url
    drop_database(url)


@pytest.fixture
def scored(scored_template: str) -> Iterator[Scored]:
    url = clone_database(scored_template)
    engine = db.make_engine(url)
    try:
        sessions = db.session_factory(engine)
        found = Scored(url, sessions, Settings(database_url=url, rules_file=None))
        with db.transaction(sessions) as session:
            for name, role in KEYS.items():
                found.keys[name] = create_key(session, name, role)[1]
        yield found
    finally:
        engine.dispose()
        drop_database(url)


@pytest.fixture
def served(scored: Scored) -> Iterator[tuple[Scored, str]]:
    """The database and the base URL of the API serving it."""
    with serve_app(create_app(scored.settings, scored.sessions)) as base:
        yield scored, base
