"""Database side of ingest: the cursor, block headers, and bulk writes of decoded rows.

Every function takes the caller's session and never commits, so that the rows of a
batch, its block headers and the cursor that covers them commit in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

import psycopg
from sqlalchemy import delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import Block, ComplianceEvent, IngestCursor, Token, Transfer
from monitor.bridges import linking
from monitor.chain.decode import ComplianceRecord, TransferRecord

TRANSFER_COLUMNS = (
    "chain_id", "token_id", "block_number", "block_hash", "block_time", "tx_hash", "log_index",
    "sub_index", "from_address", "to_address", "amount", "item_id", "operator",
)


_NULL = "\\N"  # COPY text format's NULL


@dataclass(frozen=True)
class Header:
    number: int
    hash: str
    parent_hash: str
    timestamp: datetime

    @classmethod
    def from_rpc(cls, block: dict[str, object]) -> Header:
        return cls(
            number=int(str(block["number"]), 16),
            hash=str(block["hash"]).lower(),
            parent_hash=str(block["parentHash"]).lower(),
            timestamp=datetime.fromtimestamp(int(str(block["timestamp"]), 16), UTC),
        )


def get_cursor(session: Session, chain_id: int) -> IngestCursor | None:
    return session.get(IngestCursor, chain_id)


def set_cursor(session: Session, chain_id: int, number: int, block_hash: str | None) -> None:
    cursor = session.get(IngestCursor, chain_id)
    if cursor is None:
        session.add(IngestCursor(chain_id=chain_id, block_number=number, block_hash=block_hash))
    else:
        cursor.block_number = number
        cursor.block_hash = block_hash
    session.flush()


def set_synced(session: Session, token_ids: Iterable[int], number: int) -> None:
    ids = list(token_ids)
    if ids:
        session.execute(update(Token).where(Token.id.in_(ids)).values(synced_block=number))


def stored_hashes(session: Session, chain_id: int, low: int, high: int) -> dict[int, str]:
    rows = session.execute(
        select(Block.number, Block.hash).where(
            Block.chain_id == chain_id, Block.number >= low, Block.number <= high
        )
    )
    return {number: block_hash for number, block_hash in rows}


def save_headers(session: Session, chain_id: int, headers: Iterable[Header]) -> None:
    rows = [
        {"chain_id": chain_id, "number": h.number, "hash": h.hash, "parent_hash": h.parent_hash,
         "timestamp": h.timestamp}
        for h in headers
    ]
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    stmt = (postgresql.insert(Block) if dialect == "postgresql" else sqlite.insert(Block))
    stmt = stmt.on_conflict_do_update(
        index_elements=["chain_id", "number"],
        set_={"hash": stmt.excluded.hash, "parent_hash": stmt.excluded.parent_hash,
              "timestamp": stmt.excluded.timestamp},
    )
    session.execute(stmt, rows)


def prune_headers(session: Session, chain_id: int, below: int) -> None:
    """Forget headers older than the reorg window; transfers carry their own block time."""
    session.execute(delete(Block).where(Block.chain_id == chain_id, Block.number < below))


class CopyText(NamedTuple):
    """Transfers as COPY text-format rows, and how many."""

    data: str
    rows: int


def write_transfers(
    session: Session,
    chain_id: int,
    token_ids: dict[str, int],
    records: Sequence[TransferRecord],
    times: dict[int, datetime],
    text: CopyText | None = None,
) -> int:
    """Insert transfers idempotently; returns how many rows are new.

    On Postgres `text` (copy_text of the same records), when given, is what is sent.
    """
    if not records:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        return _copy_transfers(session, text or copy_text(chain_id, token_ids, records, times))
    rows = [
        dict(zip(TRANSFER_COLUMNS, (
            chain_id, token_ids[r.token], r.block_number, r.block_hash, times[r.block_number],
            r.tx_hash, r.log_index, r.sub_index, r.from_address, r.to_address, r.amount,
            r.item_id, r.operator), strict=True))
        for r in records
    ]
    result = session.connection().execute(sqlite.insert(Transfer).on_conflict_do_nothing(), rows)
    return int(result.rowcount or 0)


def copy_text(
    chain_id: int, token_ids: dict[str, int], records: Sequence[TransferRecord],
    times: dict[int, datetime],
) -> CopyText:
    """The rows in COPY text format. Every value is a number or hex, so nothing needs
    escaping; formatting here is several times cheaper than psycopg's per-value adaptation."""
    stamps = {number: when.isoformat() for number, when in times.items()}
    heads = {token: f"{chain_id}\t{token_id}\t" for token, token_id in token_ids.items()}
    # Unpacked rather than read by attribute: a NamedTuple field is a descriptor call.
    lines = [
        f"{heads[token]}{number}\t{block_hash}\t{stamps[number]}\t{tx_hash}\t{log_index}\t"
        f"{sub_index}\t{sender}\t{receiver}\t{amount}\t{_NULL if item is None else item}\t"
        f"{_NULL if operator is None else operator}\n"
        for number, block_hash, tx_hash, log_index, sub_index, token, sender, receiver, amount,
        item, operator in records
    ]
    return CopyText("".join(lines), len(lines))


def _copy_transfers(session: Session, text: CopyText) -> int:
    """COPY straight into transfers; on a duplicate, redo through a staging table.

    The cursor commits with its rows, so rows above it cannot exist yet and COPY is the
    normal path. A replay (a manual rewind, two processes racing without a lease) hits
    the unique key and takes the slower INSERT … ON CONFLICT DO NOTHING path.
    """
    data, count = text
    columns = ", ".join(TRANSFER_COLUMNS)
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    with raw.cursor() as cur:
        # A savepoint, so a duplicate undoes only this COPY, not the caller's transaction.
        # (psycopg's own transaction() would COMMIT on an idle connection: SQLAlchemy has
        # not sent anything yet, so plain SQL keeps us inside the session's transaction.)
        cur.execute("SAVEPOINT copy_transfers")
        try:
            with cur.copy(f"COPY transfers ({columns}) FROM STDIN") as copy:
                copy.write(data)
        except psycopg.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT copy_transfers")
        else:
            cur.execute("RELEASE SAVEPOINT copy_transfers")
            return count
        cur.execute(
            "CREATE TEMP TABLE IF NOT EXISTS transfers_stage "
            "(LIKE transfers INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        with cur.copy(f"COPY transfers_stage ({columns}) FROM STDIN") as copy:
            copy.write(data)
        cur.execute(
            f"INSERT INTO transfers ({columns}) SELECT {columns} FROM transfers_stage "
            "ON CONFLICT (token_id, block_number, log_index, sub_index) DO NOTHING"
        )
        inserted = cur.rowcount
        cur.execute("TRUNCATE transfers_stage")
        return inserted


def write_compliance(
    session: Session,
    chain_id: int,
    token_ids: dict[str, int],
    records: Sequence[ComplianceRecord],
    times: dict[int, datetime],
) -> int:
    if not records:
        return 0
    rows = [
        {"chain_id": chain_id, "token_id": token_ids[r.token], "block_number": r.block_number,
         "block_hash": r.block_hash, "block_time": times[r.block_number], "tx_hash": r.tx_hash,
         "log_index": r.log_index, "event": r.event, "subject": r.subject, "amount": r.amount,
         "args": json.loads(json.dumps(r.args))}
        for r in records
    ]
    dialect = session.get_bind().dialect.name
    stmt = postgresql.insert(ComplianceEvent) if dialect == "postgresql" else sqlite.insert(
        ComplianceEvent
    )
    result = session.connection().execute(stmt.on_conflict_do_nothing(), rows)
    return int(result.rowcount or 0)


def delete_from(session: Session, chain_id: int, fork: int) -> set[tuple[int, str]]:
    """Delete every row at or above the fork block; return the (token, address) pairs touched."""
    # By token, so that the (token_id, block_number) index serves the range.
    tokens = select(Token.id).where(Token.chain_id == chain_id).scalar_subquery()
    orphaned = (Transfer.token_id.in_(tokens), Transfer.block_number >= fork)
    touched: set[tuple[int, str]] = set()
    for token_id, sender, receiver in session.execute(
        select(Transfer.token_id, Transfer.from_address, Transfer.to_address).where(*orphaned)
    ):
        touched.add((token_id, sender))
        touched.add((token_id, receiver))
    for token_id, subject in session.execute(
        select(ComplianceEvent.token_id, ComplianceEvent.subject).where(
            ComplianceEvent.chain_id == chain_id, ComplianceEvent.block_number >= fork,
            ComplianceEvent.subject.is_not(None),
        )
    ):
        touched.add((token_id, str(subject)))
    session.execute(delete(Transfer).where(*orphaned))
    session.execute(
        delete(ComplianceEvent).where(
            ComplianceEvent.chain_id == chain_id, ComplianceEvent.block_number >= fork
        )
    )
    # Bridge events of the fork go with the chain's other rows, and the transfers they
    # linked fall back to pending (or vanish with their only side) until re-ingested.
    linking.unlink_from(session, chain_id, fork)
    session.execute(delete(Block).where(Block.chain_id == chain_id, Block.number >= fork))
    session.execute(
        update(Token)
        .where(Token.chain_id == chain_id, Token.synced_block >= fork)
        .values(synced_block=fork - 1)
    )
    return touched

