"""A list upload answers 202 at once and leaves the re-screen of the stored history to
background work: `amlmon api`'s own task (tested here as a real process), or the daemon's
score job (tests/watchlist/test_exposure.py: a marked token is screened again by the next
incremental run without new blocks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from models import Alert, ScoreRun, Transfer
from monitor import db, jobs
from monitor.addresses import ZERO
from monitor.api.app import create_app
from monitor.apikeys import create_key
from monitor.settings import Settings
from support.amlmon_api import amlmon_api, stop
from support.api import client, serve_app
from support.history import write_scored_history
from support.postgres import clone_database, drop_database
from support.wait import wait_for


@pytest.fixture
def scored(pg_template: str) -> Iterator[tuple[str, sessionmaker[Session], str]]:
    """A scored history of its own (these tests change its alerts): (url, sessions, admin
    key)."""
    url = clone_database(pg_template)
    write_scored_history(url)
    engine = db.make_engine(url)
    try:
        sessions = db.session_factory(engine)
        with db.transaction(sessions) as session:
            key = create_key(session, "admin-key", "admin")[1]
        yield url, sessions, key
    finally:
        engine.dispose()
        drop_database(url)


def _busiest_sender(sessions: sessionmaker[Session]) -> str:
    """Listing it exposes many addresses of the history."""
    with sessions() as session:
        return str(session.scalar(
            select(Transfer.from_address).where(Transfer.from_address != ZERO)
            .group_by(Transfer.from_address).order_by(func.count().desc()).limit(1)))


def _count(sessions: sessionmaker[Session], what: Any, *where: Any) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(what).where(*where)) or 0)


def test_the_upload_answers_202_without_scoring_and_the_tokens_show_it_pending(
    scored: tuple[str, sessionmaker[Session], str]
) -> None:
    url, sessions, key = scored
    runs = _count(sessions, ScoreRun)
    listed = _busiest_sender(sessions)
    exposure = (Alert.rule == "watchlist_exposure",)
    with serve_app(create_app(Settings(database_url=url, rules_file=None), sessions)) as base, \
            client(base, key) as http:
        assert [t["rescreen_pending"] for t in http.get("/api/v1/tokens").json()["items"]] == [
            False]
        answer = http.put("/api/v1/watchlists/ofac", content=f"{listed}\n",
                          headers={"content-type": "text/plain"})
        assert answer.status_code == 202, answer.text
        assert answer.headers["location"] == "/api/v1/tokens"
        assert answer.json()["rescreen"] == {"tokens": 1, "status": "/api/v1/tokens"}
        # Nothing was scored inside the request: the work is queued, not done.
        assert _count(sessions, ScoreRun) == runs
        assert _count(sessions, Alert, *exposure) == 0
        assert [t["rescreen_pending"] for t in http.get("/api/v1/tokens").json()["items"]] == [
            True]
        # The same list again changes nothing, so nothing is queued: 200.
        again = http.put("/api/v1/watchlists/ofac", content=f"{listed}\n",
                         headers={"content-type": "text/plain"})
        assert again.status_code == 200 and again.json()["rescreen"] is None

        # What the background task runs: the marked token is screened, then nothing is left.
        summary = jobs.rescreen(sessions, Settings(database_url=url, rules_file=None))
        assert len(summary.runs) == 1 and summary.alerts_created > 0
        assert _count(sessions, Alert, *exposure) > 0
        assert [t["rescreen_pending"] for t in http.get("/api/v1/tokens").json()["items"]] == [
            False]
        assert jobs.rescreen(sessions, Settings(database_url=url, rules_file=None)).runs == []


def test_amlmon_api_rescreens_in_the_background_after_an_upload(
    scored: tuple[str, sessionmaker[Session], str]
) -> None:
    """The API alone: its task wakes on the upload (the periodic pass is an hour away) and
    raises the exposure alerts; SIGTERM then stops server and task cleanly."""
    url, sessions, key = scored
    listed = _busiest_sender(sessions)
    with amlmon_api({"AMLMON_DATABASE_URL": url, "AMLMON_SCORE_INTERVAL_SECONDS": "3600"}) as (
            base, process), client(base, key) as http:
        answer = http.put("/api/v1/watchlists/ofac", content=f"{listed}\n",
                          headers={"content-type": "text/plain"})
        assert answer.status_code == 202, answer.text
        alerts = wait_for(lambda: http.get("/api/v1/alerts", params={
            "rule": "watchlist_exposure"}).json()["items"], what="exposure alerts")
        assert any(listed[2:10] in a["detail"].lower() for a in alerts)
        wait_for(lambda: not http.get("/api/v1/tokens").json()["items"][0][
            "rescreen_pending"], what="the re-screen to commit")
        stop(process)
