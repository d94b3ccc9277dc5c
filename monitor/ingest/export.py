"""Evidence export: stored transfers as CSV or JSON lines, streamed in block order."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Token, Transfer
from monitor.addresses import checksum

FIELDS = (
    "chain_id", "token", "block_number", "block_hash", "block_time", "tx_hash", "log_index",
    "from", "to", "amount",
)


@dataclass(frozen=True)
class ExportFilter:
    token_ids: list[int] | None = None
    address: str | None = None
    from_block: int | None = None
    to_block: int | None = None


def iter_rows(
    session: Session, where: ExportFilter, chunk: int = 5000
) -> Iterator[dict[str, object]]:
    """Rows in (chain, block, log, item) order, fetched with a server-side cursor."""
    query = (
        select(
            Transfer.chain_id, Token.address, Transfer.block_number, Transfer.block_hash,
            Transfer.block_time, Transfer.tx_hash, Transfer.log_index, Transfer.from_address,
            Transfer.to_address, Transfer.amount,
        )
        .join(Token, Token.id == Transfer.token_id)
        .order_by(Transfer.chain_id, Transfer.block_number, Transfer.log_index, Transfer.sub_index)
    )
    # Always by token: the primary key and the address indexes all lead with token_id.
    token_ids = where.token_ids
    if token_ids is None:
        token_ids = list(session.scalars(select(Token.id)))
    query = query.where(Transfer.token_id.in_(token_ids))
    if where.address is not None:
        query = query.where(
            (Transfer.from_address == where.address) | (Transfer.to_address == where.address)
        )
    if where.from_block is not None:
        query = query.where(Transfer.block_number >= where.from_block)
    if where.to_block is not None:
        query = query.where(Transfer.block_number <= where.to_block)
    checksums: dict[str, str] = {}

    def cs(address: str) -> str:
        if address not in checksums:
            checksums[address] = checksum(address)
        return checksums[address]

    result = session.execute(query.execution_options(yield_per=chunk))
    for row in result:
        yield {
            "chain_id": row.chain_id,
            "token": cs(row.address),
            "block_number": row.block_number,
            "block_hash": row.block_hash,
            "block_time": row.block_time.isoformat().replace("+00:00", "Z"),
            "tx_hash": row.tx_hash,
            "log_index": row.log_index,
            "from": cs(row.from_address),
            "to": cs(row.to_address),
            # Base units as a decimal string: exact for any uint256, in JSON and spreadsheets.
            "amount": str(row.amount),
        }


def write_csv(rows: Iterator[dict[str, object]], out: IO[str]) -> int:
    writer = csv.DictWriter(out, fieldnames=FIELDS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def write_jsonl(rows: Iterator[dict[str, object]], out: IO[str]) -> int:
    count = 0
    for row in rows:
        out.write(json.dumps(row, separators=(",", ":")) + "\n")
        count += 1
    return count
