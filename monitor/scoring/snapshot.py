"""A token's transfers as columnar files beside the database, so that a full run of a big
token reads its history from disk instead of sorting it out of Postgres every time.

Two Arrow IPC files per token in the configured directory (`snapshot_dir`):
`chain-<id>-token-<address>.arrow` holds the columns the scoring state keeps (time, block,
log position, sender and receiver numbers, amount in base units) as stored, before bridge
legs are rewritten; `….addresses.arrow` the addresses those numbers name. The database
stays the source of truth: a snapshot is used only up to the last of its blocks whose
hash the database still has with the same number of transfers up to it, so a reorg cuts
it back to below the fork, and a snapshot that does not match (another database, a
backfill below it) is ignored and written again. Every load that read at least
`REWRITE_ROWS` rows (or a tenth of the snapshot) from the database writes it again: the
daemon's start and its full runs, and `amlmon score`.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Token, Transfer

FORMAT = 1
COLUMNS = (("t", "int64"), ("block", "int64"), ("log", "int64"), ("src", "int64"),
           ("dst", "int64"), ("amount", "float64"))
REWRITE_ROWS = 100_000
BATCH_ROWS = 1 << 20  # rows per record batch: a read holds one batch beside the state
HASHED_BLOCKS = 256  # the last blocks whose hashes are kept: deeper than any reorg window


@dataclass
class Prefix:
    """The snapshot's rows up to `last_block`, which the database still agrees with."""

    columns: list[np.ndarray]  # as COLUMNS
    addresses: list[str]  # index -> lower-case address (0: the zero address)
    last_block: int


def _stem(directory: Path, token: Token) -> Path:
    return directory / f"chain-{token.chain_id}-token-{token.address.lower()}"


def _block_hashes(session: Session, token: Token, blocks: list[int]) -> dict[int, str]:
    """block -> its hash, for those of `blocks` where `token` has transfers."""
    return dict(session.execute(
        select(Transfer.block_number, func.min(Transfer.block_hash))
        .where(Transfer.token_id == token.id, Transfer.block_number.in_(blocks))
        .group_by(Transfer.block_number)).all())


def read(directory: Path, session: Session, token: Token) -> Prefix | None:
    """The part of `token`'s snapshot the database agrees with, or None."""
    import pyarrow as pa
    import pyarrow.ipc

    stem = _stem(directory, token)
    try:
        transfers = pa.ipc.open_file(pa.OSFile(str(stem) + ".arrow"))
        names = pa.ipc.open_file(pa.OSFile(str(stem) + ".addresses.arrow"))
    except (FileNotFoundError, pa.ArrowInvalid):
        return None
    meta = json.loads(transfers.schema.metadata[b"amlmon"])
    if (meta.get("format") != FORMAT or meta.get("generation")
            != json.loads(names.schema.metadata[b"amlmon"]).get("generation")):
        return None
    # The last block whose hash and transfer count up to it the database still has.
    hashed = {int(b): (h, int(c)) for b, h, c in meta["hashed"]}
    stored = _block_hashes(session, token, list(hashed))
    agreed = [b for b, (h, _) in hashed.items() if stored.get(b) == h]
    if not agreed:
        return None
    cut = max(agreed)
    rows = hashed[cut][1]
    held = session.scalar(select(func.count()).select_from(Transfer).where(
        Transfer.token_id == token.id, Transfer.block_number <= cut))
    if held != rows:
        return None
    columns = [np.empty(rows, dtype=dtype) for _, dtype in COLUMNS]
    at = 0
    for i in range(transfers.num_record_batches):
        if at >= rows:
            break
        batch = transfers.get_batch(i)
        take = min(batch.num_rows, rows - at)
        for k, (name, _) in enumerate(COLUMNS):
            columns[k][at:at + take] = batch.column(name).to_numpy()[:take]
        at += take
    addresses = names.read_all().column("address").to_pylist()
    return Prefix(columns, addresses, cut)


def write(directory: Path, session: Session, token: Token, columns: list[np.ndarray],
          addresses: list[str] | np.ndarray) -> None:
    """Write `token`'s snapshot: `columns` (as COLUMNS, in chain order) name senders and
    receivers by their index in `addresses`. Written beside and renamed into place, so a
    reader sees the old files or the new ones (a mismatch of the two is ignored)."""
    import pyarrow as pa
    import pyarrow.ipc

    directory.mkdir(parents=True, exist_ok=True)
    block = columns[1]
    if block.size == 0:
        return
    # Rows up to each of the last blocks, and those blocks' hashes.
    ends = np.flatnonzero(np.r_[block[1:] != block[:-1], True])[-HASHED_BLOCKS:]
    last = [int(b) for b in block[ends]]
    hashes = _block_hashes(session, token, last)
    generation = uuid.uuid4().hex
    meta = {"format": FORMAT, "generation": generation, "token": token.address.lower(),
            "chain_id": token.chain_id,
            "hashed": [[b, hashes.get(b), int(e) + 1] for b, e in zip(last, ends, strict=True)]}
    stem = _stem(directory, token)
    schema = pa.schema([(name, dtype) for name, dtype in COLUMNS],
                       metadata={"amlmon": json.dumps(meta)})
    partial = Path(f"{stem}.{generation}.partial")
    named = Path(f"{stem}.addresses.{generation}.partial")
    try:
        with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_file(sink, schema) as out:
            for start in range(0, block.size, BATCH_ROWS):
                out.write_batch(pa.record_batch(
                    [pa.array(c[start:start + BATCH_ROWS]) for c in columns], schema=schema))
        names = pa.table({"address": pa.array([str(a) for a in addresses], pa.string())})
        names = names.replace_schema_metadata({"amlmon": json.dumps(
            {"format": FORMAT, "generation": generation})})
        with pa.OSFile(str(named), "wb") as sink, pa.ipc.new_file(sink, names.schema) as out:
            out.write_table(names)
        os.replace(named, str(stem) + ".addresses.arrow")
        os.replace(partial, str(stem) + ".arrow")
    finally:
        for leftover in (partial, named):
            leftover.unlink(missing_ok=True)
