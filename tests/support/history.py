"""A simulated history written through the real storage layer, for tests of what reads it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from monitor import db, jobs
from monitor.chain.decode import TransferRecord
from monitor.ingest import store
from monitor.settings import Settings
from monitor.sim import generate
from monitor.tokens import add_token

TOKEN = "0x" + "ab" * 20


def write_history(sessions: sessionmaker[Session], seed: int = 21) -> int:
    """A simulated history stored as ingest would store it (one block per 20 transfers)."""
    history = generate(seed, investors=80, days=60, cases_per_rule=1)
    with db.transaction(sessions) as session:
        token_id = add_token(session, chain_id=31337, address=TOKEN, decimals=6).id
        records, times = [], {}
        for i, t in enumerate(history.transfers):
            block = i // 20 + 1
            records.append(TransferRecord(block, f"0x{block:064x}", f"0x{i + 1:064x}", i % 20, 0,
                                          TOKEN, t.sender, t.receiver, t.amount))
            times[block] = datetime.fromtimestamp(t.timestamp, UTC)
        store.write_transfers(session, 31337, {TOKEN: token_id}, records, times)
    return token_id


def write_scored_history(url: str) -> None:
    """`write_history` into the database at `url`, scored and alerted as the daemon's job
    does it, with default rules; no connection stays open, so the database can be copied."""
    engine = db.make_engine(url)
    try:
        sessions = db.session_factory(engine)
        write_history(sessions)
        jobs.score_and_alert(sessions, Settings(database_url=url, rules_file=None))
    finally:
        engine.dispose()
