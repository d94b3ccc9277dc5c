"""A token's stored transfers as numpy arrays: what features and rules compute over.

Amounts here are float64 *token units* (scaled by decimals) — good for statistics and
thresholds. Exact uint256 sums for reports come from SQL, never from these floats.
On Postgres the rows stream out with COPY, which is several times faster than fetching
a million rows through the ORM.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import ComplianceEvent, Token, Transfer
from monitor.addresses import ZERO
from monitor.db import as_utc
from monitor.scoring import snapshot
from monitor.scoring.legs import Leg, rewrite_columns

# The by-address index sorts (address << _ROW_BITS | row): rows below 2^34, addresses
# below 2^29.
_ROW_BITS = 34
_ROW_MASK = (1 << _ROW_BITS) - 1


@dataclass
class Flows:
    """Transfers of one token sorted by (time, block, log index)."""

    token_id: int
    decimals: int
    addresses: np.ndarray  # object array of lower-case addresses; index 0 is the zero address
    t: np.ndarray  # int64 unix seconds
    block: np.ndarray  # int64
    src: np.ndarray  # int64 address index
    dst: np.ndarray  # int64 address index
    amount: np.ndarray  # float64 token units
    # Position within the block: log_index << 16 | sub_index (patterns name their transfers
    # by (block, log)); zeros when built without it (then blocks are unique per transfer).
    log: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # Tx hashes per row when built in memory (tests, Spark shards); flows read from the
    # database hold none and look them up through `hashes` (TxHashes).
    tx: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=object))
    hashes: TxHashes | None = None
    frozen: dict[int, list[tuple[int, int | None]]] = field(default_factory=dict)
    """address index -> [(frozen at, unfrozen at or None)] from AddressFrozen events."""
    # Per row: the index into `legs` of the linked bridge transfer whose burn (a send to
    # another chain) or mint (a receipt from one) it is, rewritten as an edge from the
    # sender to the recipient (monitor.scoring.bridges); -1 for every other row.
    bridge: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    legs: list[Leg] = field(default_factory=list)  # shared by subsets and extensions
    # The per-address row index (_by) and the address numbering (numbering), which an
    # extension carries over.
    _index: dict[str, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.log.size != self.t.size:
            self.log = np.zeros(self.t.size, dtype=np.int64)
        if self.bridge.size != self.t.size:
            self.bridge = np.full(self.t.size, -1, dtype=np.int64)

    def tx_hashes(self, rows: np.ndarray | Sequence[int]) -> list[str]:
        """Each of `rows`' evidence: its tx hash when held, else its key (block and log
        position) that monitor.scoring.evidence.resolve turns into the hash."""
        rows = np.asarray(rows, dtype=np.int64)
        if self.tx.size == self.n:
            return [t.decode() if isinstance(t, bytes) else str(t) for t in self.tx[rows]]
        return [evidence_key(b, p) for b, p in zip(self.block[rows].tolist(),
                                                   self.log[rows].tolist(), strict=True)]

    def hashes_at(self, blocks: Sequence[int] | np.ndarray) -> dict[tuple[int, int], str]:
        """(block, log position) -> tx hash of every row in `blocks`."""
        if self.tx.size == self.n and self.n:
            wanted = np.asarray(blocks, dtype=np.int64)
            rows = np.flatnonzero(np.isin(self.block, wanted))
            return dict(zip(zip(self.block[rows].tolist(), self.log[rows].tolist(),
                                strict=True), self.tx_hashes(rows), strict=True))
        return self.hashes.at(blocks) if self.hashes is not None else {}

    def hashes_of(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], str]:
        """(block, log position) -> tx hash of the rows at `keys`."""
        if self.tx.size == self.n and self.n:
            wanted = set(keys)
            return {k: h for k, h in self.hashes_at([b for b, _ in wanted]).items()
                    if k in wanted}
        return self.hashes.of(keys) if self.hashes is not None else {}

    def hash_of(self, blocks: Sequence[int]) -> Callable[[int], str]:
        """A row's tx hash, for rows in `blocks` (their hashes are read at once)."""
        known = self.hashes_at(blocks)
        return lambda r: known.get((int(self.block[r]), int(self.log[r])), "")

    def reindex(self) -> None:
        """Forget the per-address row index after rows were rewritten in place."""
        numbering = self._index.get("numbering")
        self._index.clear()
        if numbering is not None:
            self._index["numbering"] = numbering

    @property
    def n(self) -> int:
        return int(self.t.size)

    @property
    def n_addresses(self) -> int:
        return int(self.addresses.size)

    def sent(self, address: int) -> np.ndarray:
        """Rows (transfer indices, in time order) sent by `address`; no full-array scan."""
        return self._rows("src", address)

    def received(self, address: int) -> np.ndarray:
        return self._rows("dst", address)

    def between(self, sender: int, receiver: int) -> np.ndarray:
        """Rows (in time order) `sender` sent to `receiver`, read from the sender's sends or
        the receiver's receipts, whichever are fewer: an issuer's payments to one holder
        cost the holder's rows, not the issuer's."""
        sent, got = self.sent(sender), self.received(receiver)
        return (sent[self.dst[sent] == receiver] if sent.size <= got.size
                else got[self.src[got] == sender])

    def touching(self, address: int) -> np.ndarray:
        return np.union1d(self.sent(address), self.received(address))

    def _rows(self, side: str, address: int) -> np.ndarray:
        order, ptr, indexed = self._by(side)
        head = (order[ptr[address]:ptr[address + 1]] if address + 1 < ptr.size
                else order[:0])
        if indexed == self.n:
            return head
        tail = self._tail(indexed)[0 if side == "src" else 1].get(address)
        if not tail:
            return head
        return np.concatenate((head, np.asarray(tail[:bisect.bisect_left(tail, self.n)],
                                                dtype=np.int64)))

    def _tail(self, indexed: int) -> tuple[dict[int, list[int]], dict[int, list[int]]]:
        """The rows appended since the index was built, by sender and by receiver. Grown by
        the rows added since the last call (a block's own), so that a lookup of a busy
        address neither scans them nor waits for the index to be built again."""
        tail = self._index.get("tail")
        if tail is None or tail[0] != indexed:
            tail = self._index["tail"] = [indexed, indexed, {}, {}]
        upto, by_src, by_dst = tail[1], tail[2], tail[3]
        if upto < self.n:
            for row, (s, d) in enumerate(zip(self.src[upto:self.n].tolist(),
                                             self.dst[upto:self.n].tolist(), strict=True),
                                         start=upto):
                by_src.setdefault(s, []).append(row)
                by_dst.setdefault(d, []).append(row)
            tail[1] = self.n
        return by_src, by_dst

    def _by(self, side: str) -> tuple[np.ndarray, np.ndarray, int]:
        """(rows sorted by `side`'s address, stable; each address's start in them; how many
        rows the index covers). An extension (extend_flows) carries the index over, and
        rows appended since are found by a scan of those rows alone, until they are an
        eighth of the index: then it is built again (amortised O(log n) a row)."""
        cached = self._index.get(side)
        if cached is not None:
            indexed = int(self._index["indexed"])
            if indexed <= self.n and self.n - indexed <= max(4096, indexed // 8):
                return cached[0], cached[1], indexed
        rows = np.arange(self.n, dtype=np.int64)
        for name, column in (("src", self.src), ("dst", self.dst)):
            # Stable (row order within an address) as one sort of (address << 34 | row):
            # np.sort is several times faster than a stable argsort.
            order = np.sort(column.astype(np.int64) << _ROW_BITS | rows) & _ROW_MASK
            ptr = np.zeros(self.n_addresses + 1, dtype=np.int64)
            np.cumsum(np.bincount(column, minlength=self.n_addresses), out=ptr[1:])
            self._index[name] = (order, ptr)
        self._index["indexed"] = self.n
        return self._index[side][0], self._index[side][1], self.n

    def index(self) -> None:
        """Build the per-address row index now (rows_touching then reads it)."""
        self._by("src")

    def rows_touching(self, addresses: np.ndarray) -> np.ndarray:
        """Indices (ascending) of the transfers sent or received by any of `addresses`:
        from the per-address index when it is built (only those addresses' rows are
        read), else by one scan of every transfer."""
        addresses = np.asarray(addresses, dtype=np.int64)
        if "src" not in self._index or addresses.size > self.n_addresses // 8:
            mask = np.zeros(self.n_addresses, dtype=bool)
            mask[addresses] = True
            return np.flatnonzero(mask[self.src] | mask[self.dst])
        parts = []
        indexed = self.n
        for side in ("src", "dst"):
            order, ptr, indexed = self._by(side)
            mine = addresses[addresses + 1 < ptr.size]
            parts.append(order[_ranges(ptr[mine], ptr[mine + 1])])
        if indexed < self.n and 2 * addresses.size < self.n - indexed:
            for by in self._tail(indexed):
                found = [r for a in addresses.tolist() for r in by.get(a, ()) if r < self.n]
                parts.append(np.asarray(found, dtype=np.int64))
        elif indexed < self.n:
            mask = np.zeros(self.n_addresses, dtype=bool)
            mask[addresses] = True
            parts.append(indexed + np.flatnonzero(mask[self.src[indexed:]]
                                                  | mask[self.dst[indexed:]]))
        return unique_ints(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.int64)

    def numbering(self) -> dict[str, int]:
        """Address (lower-case) -> index; kept between extensions and grown with them."""
        held = self._index.get("numbering")
        if not isinstance(held, dict):
            held = self._index["numbering"] = {}
        if len(held) < self.n_addresses:
            for i in range(len(held), self.n_addresses):
                held[str(self.addresses[i])] = i
        return held

    def subset(self, rows: np.ndarray) -> Flows:
        """The transfers at `rows` (ascending), with the same address numbering."""
        return Flows(
            token_id=self.token_id, decimals=self.decimals, addresses=self.addresses,
            t=self.t[rows], block=self.block[rows], src=self.src[rows], dst=self.dst[rows],
            amount=self.amount[rows], log=self.log[rows], frozen=self.frozen,
            tx=self.tx[rows] if self.tx.size == self.n else self.tx[:0], hashes=self.hashes,
            bridge=self.bridge[rows], legs=self.legs,
        )

    def last_block(self) -> int | None:
        return int(self.block.max()) if self.n else None


def load_flows(session: Session, token: Token, legs: list[Leg] | None = None,
               snapshots: Path | None = None) -> Flows:
    """Every stored transfer of `token`, plus its freeze history. The burn and mint rows of
    `legs` (linked bridge transfers with a side on the token, monitor.scoring.bridges) are
    edges from their sender to their recipient. With `snapshots` (a directory), the rows
    the token's snapshot holds are read from it and only the later ones from the database
    (monitor.scoring.snapshot), and the snapshot is written again when many were."""
    hashes = TxHashes(session.get_bind(), token.id)
    prefix = snapshot.read(snapshots, session, token) if snapshots is not None else None
    names = list(prefix.addresses) if prefix is not None else [ZERO]
    numbering = {a.encode(): i for i, a in enumerate(names)}

    def number(addresses: list[bytes]) -> list[int]:
        # Known addresses by one C-level map: a 10^7-row history looks up 10^7 of them.
        found = list(map(numbering.get, addresses))
        if None in found:
            for k, address in enumerate(addresses):
                if found[k] is None:
                    found[k] = numbering.setdefault(address, len(numbering))
                    if found[k] == len(names):
                        names.append(address.decode())
        return found  # type: ignore[return-value]  # no None is left

    t, block, src, dst, amount, log = _columns(
        session, token.id, number, prefix.last_block if prefix is not None else -1)
    read = t.size
    if prefix is not None:
        held = dict(zip((name for name, _ in snapshot.COLUMNS), prefix.columns, strict=True))
        prefix.columns.clear()  # each column is let go once joined to its tail
        t, block, log, src, dst, amount = (
            np.concatenate((held.pop(name), tail)) for name, tail in
            (("t", t), ("block", block), ("log", log), ("src", src), ("dst", dst),
             ("amount", amount)))
    addresses = _sort_numbering(names, src, dst)
    if snapshots is not None and read >= max(snapshot.REWRITE_ROWS, (t.size - read) // 10):
        snapshot.write(snapshots, session, token, [t, block, log, src, dst, amount],
                       addresses)
    names = addresses.tolist()
    legs = list(legs or [])
    if legs:
        numbering = {a.encode(): i for i, a in enumerate(names)}  # as sorted
        known = hashes.at(np.unique([leg.source_block for leg in legs]
                                    + [leg.destination_block for leg in legs]))
        before = len(names)
        bridge = rewrite_columns(legs, token.id, block,
                                 lambda r: known.get((int(block[r]), int(log[r])), ""),
                                 src, dst, names, lambda a: number([a.encode()])[0], amount,
                                 log)
        if len(names) > before:  # a leg's far end is new to the token
            addresses = _sort_numbering(names, src, dst)
    else:
        bridge = np.full(t.size, -1, dtype=np.int64)
    amount /= 10.0 ** token.decimals
    flows = Flows(
        token_id=token.id, decimals=token.decimals, addresses=addresses, t=t,
        block=block, src=src, dst=dst, amount=amount, log=log, bridge=bridge, legs=legs,
        hashes=hashes,
    )
    flows.frozen = _freezes(session, token.id, flows)
    return flows


def _sort_numbering(names: list[str], src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Renumber so that index 0 is the zero address and the others follow in sorted order
    (the numbering then does not depend on the order rows were read in); `src` and `dst`
    in place. The addresses by their new index."""
    order = np.concatenate(([0], 1 + np.argsort(np.array(names[1:], dtype="S42"),
                                                 kind="stable")))
    if (order[1:] != order[:-1] + 1).any():
        remap = np.empty_like(order)
        remap[order] = np.arange(order.size)
        np.take(remap, src, out=src)
        np.take(remap, dst, out=dst)
    return np.array(names, dtype=object)[order]


def extend_flows(session: Session, token: Token, flows: Flows, after_block: int) -> Flows:
    """`flows` plus the token's transfers in blocks after `after_block`: what ingest added
    since `flows` was loaded. New addresses get the next indices; existing ones keep theirs."""
    # The numbering is kept with the flows: a block costs its own addresses, not a dict
    # of every address of the token.
    seen = flows.numbering()
    known = flows.n_addresses
    fresh: list[str] = []

    def number(addresses: list[bytes]) -> list[int]:
        found = []
        for address in addresses:
            name = address.decode()
            index = seen.get(name)
            if index is None:
                index = seen[name] = known + len(fresh)
                fresh.append(name)
            found.append(index)
        return found

    t, block, src, dst, amount, log = _columns(session, token.id, number, after_block)
    added = np.array(fresh, dtype=object)
    extended = Flows(
        token_id=token.id, decimals=token.decimals,
        addresses=np.concatenate((flows.addresses, added)),
        t=_append(flows.t, t), block=_append(flows.block, block),
        src=_append(flows.src, src), dst=_append(flows.dst, dst),
        amount=_append(flows.amount, amount / 10.0 ** token.decimals),
        log=_append(flows.log, log),
        bridge=_append(flows.bridge, np.full(t.size, -1, dtype=np.int64)), legs=flows.legs,
        hashes=TxHashes(session.get_bind(), token.id),
    )
    extended._index = dict(flows._index)  # the prefix's rows are unchanged
    extended.frozen = _freezes(session, token.id, extended)
    return extended


def _append(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """`old` followed by `new`. The daemon appends a block to a million-row history many
    times a minute, and copying the history each time costs more than scoring the block;
    so the result is a prefix of a buffer with room to spare, and while `old` is such a
    prefix with room left, `new` is written in place. (Only the latest flows are ever
    extended: what lies beyond `old` in the buffer belongs to nobody.)"""
    size = old.size + new.size
    base = old.base
    if (isinstance(base, np.ndarray) and base.ndim == 1 and base.dtype == old.dtype
            and base.size >= size and old.size and base.ctypes.data == old.ctypes.data
            and new.dtype.itemsize <= old.dtype.itemsize):
        base[old.size:size] = new
        return base[:size]
    buffer = np.empty(size + max(size // 8, 1024), dtype=np.result_type(old, new))
    buffer[:old.size] = old
    buffer[old.size:size] = new
    return buffer[:size]


EVIDENCE_KEY = "#"


def evidence_key(block: int, log: int) -> str:
    """How evidence names a transfer whose hash is not held (monitor.scoring.evidence)."""
    return f"{EVIDENCE_KEY}{block}:{log}"


class TxHashes:
    """The transaction hashes of a token's transfers, read by (block, log position) when a
    reason names its evidence or a bridge leg is matched to its row. The scoring state does
    not hold them: at 66 bytes a transfer they were its largest column, and only findings
    need a few. Reads go through their own connection: scoring writes no transfers, so
    what ingest committed is what they see."""

    def __init__(self, bind: Any, token_id: int) -> None:
        self.bind = bind
        self.token_id = token_id

    def at(self, blocks: np.ndarray | Sequence[int]) -> dict[tuple[int, int], str]:
        """(block, log position) -> tx hash of every transfer of the token in `blocks`."""
        wanted = sorted({int(b) for b in np.asarray(blocks, dtype=np.int64).tolist()})
        if not wanted:
            return {}
        query = select(Transfer.block_number, Transfer.log_index, Transfer.sub_index,
                       Transfer.tx_hash).where(Transfer.token_id == self.token_id,
                                               Transfer.block_number.in_(wanted))
        with self.bind.connect() as conn:
            return {(int(b), (int(li) << 16) | int(si)): str(tx)
                    for b, li, si, tx in conn.execute(query)}

    def of(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], str]:
        """(block, log position) -> tx hash of the transfers at `keys`. On Postgres only
        those rows are read (by primary key); a full run resolves ~10^5 of them."""
        if self.bind.dialect.name != "postgresql":
            wanted = set(keys)
            return {k: tx for k, tx in self.at([b for b, _ in wanted]).items() if k in wanted}
        if not keys:
            return {}
        blocks = [b for b, _ in keys]
        logs = [p >> 16 for _, p in keys]
        subs = [p & 0xFFFF for _, p in keys]
        # Each key's hash by the primary key, as a subquery per key: as a join, the
        # planner's generic plan for a prepared statement (a daemon runs it every block)
        # came to hash the token's every transfer, half a second a block at a million.
        query = text(
            "SELECT w.b, w.l, w.s, (SELECT t.tx_hash FROM transfers t WHERE t.token_id = "
            ":token AND t.block_number = w.b AND t.log_index = w.l AND t.sub_index = w.s) "
            "FROM unnest(CAST(:b AS bigint[]), CAST(:l AS int[]), CAST(:s AS int[])) "
            "AS w(b, l, s)")
        with self.bind.connect() as conn:
            return {(int(b), (int(li) << 16) | int(si)): str(tx) for b, li, si, tx in
                    conn.execute(query, {"b": blocks, "l": logs, "s": subs,
                                         "token": self.token_id}) if tx is not None}


def _columns(session: Session, token_id: int, number: Callable[[list[bytes]], list[int]],
             after_block: int = -1) -> tuple[np.ndarray, ...]:
    """(time, block, sender, receiver, amount in base units, log position) arrays in
    chain order; senders and receivers as numbered by `number` (addresses as bytes -> their
    numbers, a new one for an address not seen before)."""
    if session.get_bind().dialect.name == "postgresql":
        return _copy_columns(session, token_id, number, after_block)
    rows = session.execute(
        select(Transfer.block_time, Transfer.block_number, Transfer.from_address,
               Transfer.to_address, Transfer.amount, Transfer.log_index, Transfer.sub_index)
        .where(Transfer.token_id == token_id, Transfer.block_number > after_block)
        .order_by(Transfer.block_number, Transfer.log_index, Transfer.sub_index)
    ).all()
    return (
        np.array([int(as_utc(r[0]).timestamp()) for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array(number([r[2].encode() for r in rows]), dtype=np.int64),
        np.array(number([r[3].encode() for r in rows]), dtype=np.int64),
        np.array([float(r[4]) for r in rows], dtype=np.float64),
        np.array([(r[5] << 16) | r[6] for r in rows], dtype=np.int64),
    )


# Binary COPY rows of (int8, int8, text(42), text(42), float8, int8) are fixed-width: each
# field is a 4-byte length and its bytes, after a 2-byte field count.
_ROW = np.dtype([
    ("nfields", ">i2"), ("l0", ">i4"), ("t", ">i8"), ("l1", ">i4"), ("block", ">i8"),
    ("l2", ">i4"), ("src", "S42"), ("l3", ">i4"), ("dst", "S42"), ("l4", ">i4"),
    ("amount", ">f8"), ("l5", ">i4"), ("log", ">i8"),
])
_HEADER = 19  # PGCOPY signature, flags, header-extension length
_BATCH = 1 << 16  # rows parsed at a time: the raw rows never exceed ~10 MB


def _copy_columns(session: Session, token_id: int,
                  number: Callable[[list[bytes]], list[int]],
                  after_block: int) -> tuple[np.ndarray, ...]:
    """The token's transfers as column arrays, parsed from a binary COPY batch by batch:
    only the columns the state keeps are held, and addresses are numbered per batch
    (each distinct address of a batch looked up once), never one Python object a row."""
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    query = (
        "COPY (SELECT extract(epoch FROM block_time)::int8, block_number, from_address, "
        "to_address, amount::float8, (log_index::int8 << 16) | sub_index "
        f"FROM transfers WHERE token_id = {int(token_id)} "
        f"AND block_number > {int(after_block)} "
        "ORDER BY block_number, log_index, sub_index) TO STDOUT (FORMAT binary)"
    )
    parts: list[list[np.ndarray | None]] = []
    pending = bytearray()
    skip = _HEADER
    with raw.cursor() as cur, cur.copy(query) as copy:
        for chunk in copy:
            pending += chunk
            if len(pending) - skip >= _BATCH * _ROW.itemsize:
                whole = (len(pending) - skip) // _ROW.itemsize * _ROW.itemsize
                parts.append(_parse(pending[skip:skip + whole], number))
                del pending[:skip + whole]
                skip = 0
    whole = (len(pending) - skip - 2) // _ROW.itemsize * _ROW.itemsize  # minus the trailer
    if whole > 0 or not parts:
        parts.append(_parse(pending[skip:skip + max(whole, 0)], number))
    # Column by column, so that at most one column is held twice.
    columns = []
    for k in range(6):
        columns.append(np.concatenate([part[k] for part in parts]))
        for part in parts:
            part[k] = None
    return tuple(columns)


def _parse(body: bytes | bytearray,
           number: Callable[[list[bytes]], list[int]]) -> list[np.ndarray | None]:
    rows = np.frombuffer(body, dtype=_ROW)
    if rows.size and not ((rows["l2"] == 42).all() and (rows["l3"] == 42).all()):
        raise ValueError("unexpected transfer row layout in binary COPY")
    distinct, inverse = np.unique(np.concatenate((rows["src"], rows["dst"])),
                                  return_inverse=True)
    ids = np.array(number(distinct.tolist()), dtype=np.int64)[inverse]
    n = rows.size
    return [rows["t"].astype(np.int64), rows["block"].astype(np.int64), ids[:n].copy(),
            ids[n:].copy(), rows["amount"].astype(np.float64), rows["log"].astype(np.int64)]


def _ranges(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """The concatenation of arange(start, end) for each pair, without a Python loop."""
    lengths = ends - starts
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    keep = lengths > 0
    starts, lengths = starts[keep], lengths[keep]
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total)


def unique_ints(values: np.ndarray) -> np.ndarray:
    """np.unique for an integer array: sort, keep the changes. numpy 2's np.unique goes
    through a hash table first and is ~10x slower on a million int64s."""
    ordered = np.sort(values)
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def search_sorted(haystack: np.ndarray, queries: np.ndarray, side: str = "left",
                  ) -> np.ndarray:
    """np.searchsorted(haystack, queries, side), the queries looked up in sorted order:
    a binary search per query in random order misses the cache at every step (seconds at
    10^7 queries into 10^6-10^7 entries), sorted queries walk the haystack once."""
    asked = np.argsort(queries, kind="stable")
    found = np.empty(queries.size, dtype=np.int64)
    found[asked] = np.searchsorted(haystack, queries[asked], side=side)  # type: ignore[call-overload]
    return found


Periods = dict[int, list[tuple[int, int | None]]]


def _freezes(session: Session, token_id: int, flows: Flows) -> Periods:
    index = flows.numbering()
    periods: Periods = {}
    rows = session.execute(
        select(ComplianceEvent.block_time, ComplianceEvent.subject, ComplianceEvent.args)
        .where(ComplianceEvent.token_id == token_id, ComplianceEvent.event == "AddressFrozen")
        .order_by(ComplianceEvent.block_number, ComplianceEvent.log_index)
    )
    for when, subject, args in rows:
        at = int(as_utc(when).timestamp())
        who = index.get(subject)
        if who is None:
            continue  # frozen but never transacted: nothing to flag

        spans = periods.setdefault(who, [])
        if args.get("isFrozen"):
            if not spans or spans[-1][1] is not None:
                spans.append((at, None))
        elif spans and spans[-1][1] is None:
            spans[-1] = (spans[-1][0], at)
    return periods
