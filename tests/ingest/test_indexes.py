"""Deferred index upkeep (monitor.ingest.indexes): a large backfill writes transfers
without the secondary indexes and builds them when it ends; readers get the same answers
meanwhile; indexes a dead backfill left missing are built by the next poll, never while a
live one defers them. Real anvil, real Postgres."""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from sqlalchemy import Engine, func, or_, select, text
from sqlalchemy.orm import Session, sessionmaker

from models import Transfer
from monitor.chain.rpc import RpcClient
from monitor.ingest import indexes
from monitor.ingest.poller import IngestOptions, IngestStats, Poller
from support.anvil import Anvil
from support.ingest import CHAIN, activity, holders_of, ingest, register, stored
from support.token import deploy, node_transfer_logs

NAMES = {"ix_transfers_tx_hash", "ix_transfers_token_from", "ix_transfers_token_to"}


def _present(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        return NAMES - {str(i.name) for i in indexes.missing(conn)}


def _deferring(engine: Engine) -> bool:
    """Whether some session holds the deferral lock."""
    with engine.connect() as conn:
        return bool(conn.scalar(text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND ((classid::bigint << 32) | objid::bigint) = :key"), {"key": indexes.LOCK_KEY}))


def _ingest(sessions: sessionmaker[Session], node: Anvil, min_rows: int,
            progress: Callable[[str, int, int, int], None]) -> IngestStats:
    options = IngestOptions(confirmations=0, reorg_window=16, initial_range=2, max_range=2,
                            defer_indexes_min_rows=min_rows)
    with RpcClient([node.url], chain="t") as client:
        return Poller(client, sessions, CHAIN, options, progress).catch_up()


def test_large_backfill_defers_the_indexes_readers_keep_answering(
    node: Anvil, sessions: sessionmaker[Session], engine: Engine
) -> None:
    token = deploy(node)
    register(sessions, token)
    holders = holders_of(node)
    rng = random.Random(5)
    activity(token, rng, holders, rounds=30)
    expected = node_transfer_logs(node, token.address)
    seen: list[tuple[set[str], int, int]] = []

    def reader(stage: str, done: int, total: int, rows: int) -> None:
        if done < total // 2 or seen:
            return
        # The writer drops the indexes between two commits; wait until it has.
        deadline = time.monotonic() + 10
        while not _deferring(engine) and time.monotonic() < deadline:
            time.sleep(0.01)
        with sessions() as session:
            # What a report by address asks, answered by scans meanwhile.
            by_address = session.scalar(select(func.count()).select_from(Transfer).where(
                or_(Transfer.from_address == holders[1], Transfer.to_address == holders[1])))
            committed = session.scalar(select(func.count()).select_from(Transfer).where(
                or_(Transfer.from_address == holders[1], Transfer.to_address == holders[1]))
                .where(Transfer.block_number <= select(func.max(Transfer.block_number))
                       .scalar_subquery()))
        seen.append((_present(engine), int(by_address or 0), int(committed or 0)))

    stats = _ingest(sessions, node, min_rows=50, progress=reader)

    assert stats.transfers == len(expected) > 300
    assert seen and seen[0][0] == set(), "the indexes were kept during the backfill"
    assert seen[0][1] == seen[0][2] > 0
    assert stored(sessions) == expected
    assert _present(engine) == NAMES and not _deferring(engine)

    # A later, small catch-up on the now larger table keeps its indexes.
    activity(token, rng, holders, rounds=3)
    during: list[set[str]] = []
    _ingest(sessions, node, min_rows=50,
            progress=lambda *_: during.append(_present(engine)))
    assert during and all(present == NAMES for present in during)
    assert stored(sessions) == node_transfer_logs(node, token.address)


def test_the_default_minimum_keeps_indexes_for_small_backfills(
    node: Anvil, sessions: sessionmaker[Session], engine: Engine
) -> None:
    token = deploy(node)
    register(sessions, token)
    activity(token, random.Random(6), holders_of(node), rounds=10)
    during: list[set[str]] = []
    _ingest(sessions, node, min_rows=IngestOptions().defer_indexes_min_rows,
            progress=lambda *_: during.append(_present(engine)))
    assert during and all(present == NAMES for present in during)


def test_a_poll_builds_indexes_a_dead_backfill_left_but_not_a_live_ones(
    node: Anvil, sessions: sessionmaker[Session], engine: Engine
) -> None:
    token = deploy(node)
    register(sessions, token)
    holders = holders_of(node)
    activity(token, random.Random(7), holders, rounds=5)
    ingest(sessions, [node.url])

    # A live backfill (another process) defers them: the poll leaves them alone.
    live = indexes.Deferral.start(engine)
    assert live is not None and _present(engine) == set()
    assert indexes.Deferral.start(engine) is None  # one deferral at a time
    activity(token, random.Random(8), holders, rounds=2)
    ingest(sessions, [node.url])
    assert _present(engine) == set()

    # That process dies: its session, and so the lock, is gone.
    live._conn.invalidate()
    assert not _deferring(engine)
    activity(token, random.Random(9), holders, rounds=2)
    ingest(sessions, [node.url])
    assert _present(engine) == NAMES and not _deferring(engine)
    assert stored(sessions) == node_transfer_logs(node, token.address)
    with engine.connect() as conn:
        definitions = set(conn.scalars(text(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'transfers'")))
    assert any("USING hash (tx_hash)" in d for d in definitions)
    assert any("(token_id, from_address)" in d for d in definitions)
