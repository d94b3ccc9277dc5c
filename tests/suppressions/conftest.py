"""A simulated history scored with the default rules, its alerts raised: one database per
test, since every test here changes scores."""

from __future__ import annotations

from typing import Any

import pytest

from monitor import jobs
from monitor.settings import Settings
from support.history import write_history
from support.suppressing import Scored


@pytest.fixture
def scored(pg_url: str, make_sessions: Any) -> Scored:
    sessions = make_sessions(pg_url)
    token_id = write_history(sessions)
    settings = Settings(database_url=pg_url, rules_file=None)
    jobs.score_and_alert(sessions, settings)
    return Scored(pg_url, sessions, settings, token_id)
