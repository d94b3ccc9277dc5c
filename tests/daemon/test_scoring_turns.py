"""Several processes and jobs share one Postgres (DESIGN "Scale") without racing on scores:
runs of one token take turns, and only the process holding a chain's ingest lease scores
that chain's tokens."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from models import ScoreRun
from monitor import db, jobs
from monitor.daemon import Daemon
from monitor.settings import Settings
from monitor.tokens import add_token
from support.anvil import free_port
from support.history import write_history
from support.wait import wait_for


def _runs(sessions: sessionmaker[Session], token_id: int) -> int:
    with sessions() as session:
        return int(session.scalar(select(func.count()).select_from(ScoreRun)
                                  .where(ScoreRun.token_id == token_id)) or 0)


def test_runs_of_one_token_take_turns_across_connections(pg_url: str, make_sessions: Any) -> None:
    sessions = make_sessions(pg_url)
    token_id = write_history(sessions)
    settings = Settings(database_url=pg_url, rules_file=None)
    # Another process's run of the token, mid-transaction.
    with sessions() as holder, holder.begin():
        db.lock_for_transaction(holder, db.SCORING_LOCKS, token_id)
        scorer = threading.Thread(target=jobs.score_and_alert, args=(sessions, settings))
        scorer.start()

        def waiting() -> bool:
            with sessions() as session:
                # In this database: other tests on the server score tokens with this id too.
                return bool(session.scalar(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' "
                    "AND NOT granted AND classid = :ns AND objid = :token AND database = "
                    "(SELECT oid FROM pg_database WHERE datname = current_database())"),
                    {"ns": db.SCORING_LOCKS, "token": token_id}))

        wait_for(waiting, what="the second run to wait for the token's scoring lock")
        assert scorer.is_alive() and _runs(sessions, token_id) == 0
    scorer.join(timeout=120)
    assert not scorer.is_alive() and _runs(sessions, token_id) == 1


def test_only_the_lease_holder_scores_and_only_its_chain(pg_url: str, make_sessions: Any) -> None:
    sessions = make_sessions(pg_url)
    token_id = write_history(sessions)  # on chain 31337
    with db.transaction(sessions) as session:
        elsewhere = add_token(session, chain_id=1, address="0x" + "cd" * 20, decimals=6).id
    engine = db.make_engine(pg_url)
    # Scoring never calls the node.
    settings = Settings(database_url=pg_url, rules_file=None, chain_id=31337,
                        rpc_urls=[f"http://127.0.0.1:{free_port()}"])
    standby = Daemon(settings, engine, sessions, settings.chain_list())
    holder = Daemon(settings, engine, sessions, settings.chain_list())
    try:
        assert holder.lease.acquire() and not standby.lease.acquire()
        standby.score()
        standby.retrain()
        assert _runs(sessions, token_id) == 0
        holder.retrain()
        assert _runs(sessions, token_id) == 1
        assert _runs(sessions, elsewhere) == 0  # chain 1 is another process's to score
    finally:
        holder.shutdown()
        standby.shutdown()
        engine.dispose()
