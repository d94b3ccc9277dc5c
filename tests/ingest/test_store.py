"""Bulk writes are exact and idempotent; reorg deletion removes exactly the orphaned rows."""

from datetime import UTC, datetime

from sqlalchemy import func, select

from models import UINT256_MAX, ComplianceEvent, DirtyAddress, Token, Transfer
from monitor import db
from monitor.chain.decode import ComplianceRecord, TransferRecord
from monitor.ingest import store
from monitor.ingest.reorg import find_fork
from monitor.scoring import queue
from monitor.tokens import add_token

TOKEN = "0x" + "aa" * 20
T0 = datetime(2026, 5, 1, tzinfo=UTC)


def _record(block: int, log_index: int, amount: int, sub_index: int = 0) -> TransferRecord:
    return TransferRecord(
        block_number=block, block_hash=f"0x{block:064x}",
        tx_hash=f"0x{block * 1000 + log_index:064x}",
        log_index=log_index, sub_index=sub_index, token=TOKEN,
        from_address="0x" + f"{log_index % 7:040x}",
        to_address="0x" + f"{(log_index + 1) % 7:040x}",
        amount=amount, item_id=None, operator=None,
    )


def _setup(url: str, make_sessions) -> tuple[db.sessionmaker, int]:
    sessions = make_sessions(url)
    with db.transaction(sessions) as session:
        token_id = add_token(session, chain_id=31337, address=TOKEN).id
    return sessions, token_id


def _stored(sessions) -> list[tuple[int, int, int, int]]:
    with sessions() as session:
        return sorted(session.execute(select(
            Transfer.block_number, Transfer.log_index, Transfer.sub_index, Transfer.amount)).all())


def test_write_is_exact_and_idempotent(any_db_url: str, make_sessions) -> None:
    sessions, token_id = _setup(any_db_url, make_sessions)
    records = [_record(b, i, (b * 7919 + i) ** 9 % UINT256_MAX) for b in range(1, 40)
               for i in range(5)]
    records.append(_record(50, 0, UINT256_MAX))
    times = {r.block_number: T0 for r in records}
    with db.transaction(sessions) as session:
        new = store.write_transfers(session, 31337, {TOKEN: token_id}, records, times)
        assert new == len(records)
    expected = sorted((r.block_number, r.log_index, r.sub_index, r.amount) for r in records)
    assert _stored(sessions) == expected
    # Replaying the same batch, alone or mixed with new rows, adds only the new rows.
    extra = [_record(60, 0, 5), _record(60, 1, 6)]
    with db.transaction(sessions) as session:
        assert store.write_transfers(session, 31337, {TOKEN: token_id}, records + extra,
                                     {**times, 60: T0}) == 2
    assert _stored(sessions) == sorted(expected + [(60, 0, 0, 5), (60, 1, 0, 6)])


def test_failed_batch_leaves_nothing(pg_url: str, make_sessions) -> None:
    """The COPY runs inside the caller's transaction: an error later in it undoes the rows."""
    sessions, token_id = _setup(pg_url, make_sessions)
    try:
        with db.transaction(sessions) as session:
            store.write_transfers(session, 31337, {TOKEN: token_id}, [_record(1, 0, 1)], {1: T0})
            store.set_cursor(session, 31337, 1, "0x01")
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    assert _stored(sessions) == []
    with sessions() as session:
        assert store.get_cursor(session, 31337) is None


def test_batch_items_are_distinct_rows(any_db_url: str, make_sessions) -> None:
    sessions, token_id = _setup(any_db_url, make_sessions)
    records = [_record(3, 0, 10 + k, sub_index=k) for k in range(4)]
    with db.transaction(sessions) as session:
        store.write_transfers(session, 31337, {TOKEN: token_id}, records, {3: T0})
    assert [row[2] for row in _stored(sessions)] == [0, 1, 2, 3]


def test_delete_from_fork(any_db_url: str, make_sessions) -> None:
    sessions, token_id = _setup(any_db_url, make_sessions)
    records = [_record(b, 0, b) for b in range(1, 11)]
    compliance = [ComplianceRecord(
        block_number=b, block_hash=f"0x{b:064x}", tx_hash=f"0x{b:064x}", log_index=9, token=TOKEN,
        event="AddressFrozen", subject="0x" + "bb" * 20, amount=None,
        args={"isFrozen": True}) for b in (4, 8)]
    with db.transaction(sessions) as session:
        times = dict.fromkeys(range(1, 11), T0)
        store.write_transfers(session, 31337, {TOKEN: token_id}, records, times)
        store.write_compliance(session, 31337, {TOKEN: token_id}, compliance, {4: T0, 8: T0})
        store.set_synced(session, [token_id], 10)
    with db.transaction(sessions) as session:
        touched = store.delete_from(session, 31337, 7)
        queue.mark(session, touched, "reorg")
    assert [row[0] for row in _stored(sessions)] == [1, 2, 3, 4, 5, 6]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(ComplianceEvent)) == 1
        assert session.scalar(select(Token.synced_block)) == 6
        dirty = set(session.scalars(select(DirtyAddress.address)))
    assert "0x" + "bb" * 20 in dirty
    assert {r.from_address for r in records[6:]} <= dirty


def test_find_fork() -> None:
    stored = {10: "a", 11: "b", 12: "c"}
    assert find_fork(stored, {10: "a", 11: "b", 12: "c"}) == 13
    assert find_fork(stored, {10: "a", 11: "b", 12: "x"}) == 12
    assert find_fork(stored, {10: "a", 11: "y"}) == 11  # node shorter than us (rollback)
    assert find_fork(stored, {10: "z", 11: "y", 12: "x"}) is None  # deeper than the window
