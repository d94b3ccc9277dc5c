"""DESIGN "Scale": transfers is ready for range partitioning by block.

scripts/partition-transfers.sql turns a populated table into a partitioned one; then
ingest (with a reorg repair), evidence export and scoring run on it unchanged, against a
real anvil node and a real Postgres.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from monitor import jobs
from monitor.ingest import indexes
from monitor.ingest.export import ExportFilter, iter_rows, write_csv
from monitor.settings import Settings
from support.anvil import Anvil
from support.ingest import activity, holders_of, ingest, register, stored
from support.postgres import _libpq
from support.token import deploy, node_transfer_logs

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "partition-transfers.sql"


def test_ingest_reorgs_export_and_scoring_work_on_a_partitioned_table(
    node: Anvil, sessions: sessionmaker[Session], pg_url: str
) -> None:
    token = deploy(node)
    register(sessions, token)
    holders = holders_of(node)
    rng = random.Random(7)
    activity(token, rng, holders, rounds=10)
    ingest(sessions, [node.url])
    before = stored(sessions)
    assert before == node_transfer_logs(node, token.address)

    with psycopg.connect(_libpq(pg_url), autocommit=True) as conn:
        conn.execute("SET amlmon.partition_blocks = 4")
        conn.execute(SCRIPT.read_text())
        with pytest.raises(psycopg.errors.RaiseException, match="already partitioned"):
            conn.execute(SCRIPT.read_text())  # a second run changes nothing
    partitions = _partitions(sessions)
    assert len(partitions) > 3 and "transfers_beyond" in partitions
    assert stored(sessions) == before

    # More blocks (past the ranges, into the DEFAULT partition), then a reorg.
    activity(token, rng, holders, rounds=10)
    ingest(sessions, [node.url])
    node.rpc("anvil_reorg", 3, [])
    activity(token, rng, holders, rounds=2)
    stats = ingest(sessions, [node.url])
    assert stats.reorgs == 1
    assert stored(sessions) == node_transfer_logs(node, token.address)
    with sessions() as session:
        beyond = session.scalar(text("SELECT count(*) FROM transfers_beyond"))
        ranged = session.scalar(text("SELECT count(*) FROM ONLY transfers_b0"))
        assert beyond and ranged
        out = io.StringIO()
        exported = write_csv(iter_rows(session, ExportFilter()), out)
    assert exported == len(stored(sessions))

    summary = jobs.score_and_alert(sessions, Settings(database_url=pg_url, rules_file=None))
    assert summary.runs and summary.runs[0].addresses_scored >= len(holders)
    # A large backfill's deferral drops and rebuilds the indexes of every partition.
    engine = sessions.kw["bind"]
    deferral = indexes.Deferral.start(engine)
    assert deferral is not None
    with engine.connect() as conn:
        assert len(indexes.missing(conn)) == 3
    deferral.finish()
    with sessions() as session:
        assert session.scalar(text(
            "SELECT count(*) FROM pg_indexes WHERE tablename = 'transfers_b0'")) == 4
    # The migrations' names are kept, and the address columns keep their collation.
    with sessions() as session:
        names = set(session.scalars(text(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'transfers'")))
        collations = set(session.scalars(text(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_name = 'transfers' AND column_name LIKE '%address'")))
    assert names == {"pk_transfers", "ix_transfers_tx_hash", "ix_transfers_token_from",
                     "ix_transfers_token_to"}
    assert collations == {"C"}


def _partitions(sessions: sessionmaker[Session]) -> list[str]:
    with sessions() as session:
        return list(session.scalars(text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'transfers'::regclass ORDER BY 1")))
