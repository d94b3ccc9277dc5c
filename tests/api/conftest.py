"""One scored database and one running API server per module: the API only reads them,
except where a test changes something it then checks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from monitor import db, jobs
from monitor.api.app import create_app
from monitor.apikeys import create_key, revoke_key
from monitor.settings import Settings
from support.api import serve_app
from support.history import write_history
from support.postgres import clone_database, drop_database


@dataclass
class Api:
    base: str
    url: str  # the database
    sessions: sessionmaker[Session]
    settings: Settings
    keys: dict[str, str]  # viewer, investigator, admin, revoked -> key


@pytest.fixture(scope="module")
def api(pg_template: str) -> Iterator[Api]:
    url = clone_database(pg_template)
    engine = db.make_engine(url)
    try:
        sessions = db.session_factory(engine)
        settings = Settings(database_url=url, rules_file=None)
        write_history(sessions)
        jobs.score_and_alert(sessions, settings)
        keys = {}
        with db.transaction(sessions) as session:
            for role in ("viewer", "investigator", "admin"):
                keys[role] = create_key(session, f"{role}-key", role)[1]
            keys["revoked"] = create_key(session, "revoked-key", "admin")[1]
            revoke_key(session, "revoked-key")
        with serve_app(create_app(settings, sessions)) as base:
            yield Api(base, url, sessions, settings, keys)
    finally:
        engine.dispose()
        drop_database(url)
