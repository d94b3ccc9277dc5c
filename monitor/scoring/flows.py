"""A token's stored transfers as numpy arrays: what features and rules compute over.

Amounts here are float64 *token units* (scaled by decimals) — good for statistics and
thresholds. Exact uint256 sums for reports come from SQL, never from these floats.
On Postgres the rows stream out with COPY, which is several times faster than fetching
a million rows through the ORM.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import psycopg
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ComplianceEvent, Token, Transfer
from monitor.addresses import ZERO
from monitor.db import as_utc
from monitor.scoring.legs import Leg, rewrite_columns


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
    tx: np.ndarray  # tx hashes (fixed-width bytes from the database, or str)
    # Position within the block: log_index << 16 | sub_index (patterns name their transfers
    # by (block, log)); zeros when built without it (then blocks are unique per transfer).
    log: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
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

    def touching(self, address: int) -> np.ndarray:
        return np.union1d(self.sent(address), self.received(address))

    def _rows(self, side: str, address: int) -> np.ndarray:
        order, ptr, indexed = self._by(side)
        head = (order[ptr[address]:ptr[address + 1]] if address + 1 < ptr.size
                else order[:0])
        if indexed == self.n:
            return head
        column = self.src if side == "src" else self.dst
        return np.concatenate((head, indexed + np.flatnonzero(column[indexed:] == address)))

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
        for name, column in (("src", self.src), ("dst", self.dst)):
            order = np.argsort(column, kind="stable")  # stable: time order within an address
            ptr = np.searchsorted(column[order], np.arange(self.n_addresses + 1))
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
        if indexed < self.n:
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
            amount=self.amount[rows], tx=self.tx[rows], log=self.log[rows], frozen=self.frozen,
            bridge=self.bridge[rows], legs=self.legs,
        )

    def last_block(self) -> int | None:
        return int(self.block.max()) if self.n else None


def load_flows(session: Session, token: Token, legs: list[Leg] | None = None) -> Flows:
    """Every stored transfer of `token`, plus its freeze history. The burn and mint rows of
    `legs` (linked bridge transfers with a side on the token, monitor.scoring.bridges) are
    edges from their sender to their recipient."""
    t, block, senders, receivers, amount, tx, log = _columns(session, token.id)
    n = t.size
    legs = list(legs or [])
    bridge = (rewrite_columns(legs, token.id, block, tx, senders, receivers, amount, log)
              if legs else np.full(n, -1, dtype=np.int64))
    # Index 0 is the zero address (mint/burn); the others follow in sorted order.
    seen: dict[bytes, int] = {ZERO.encode(): 0}
    # A dict numbers a million fixed-width addresses 4x faster than np.unique, which sorts
    # the strings; only the few distinct ones are sorted afterwards.
    first = np.fromiter((seen.setdefault(a, len(seen)) for a in senders.tolist()
                         + receivers.tolist()), dtype=np.int64, count=2 * n)
    distinct = np.array(list(seen), dtype="S42")
    order = np.concatenate(([0], 1 + np.argsort(distinct[1:], kind="stable")))
    remap = np.empty_like(order)
    remap[order] = np.arange(order.size)
    addresses = distinct[order].astype(str).astype(object)
    inverse = remap[first]
    flows = Flows(
        token_id=token.id, decimals=token.decimals, addresses=addresses, t=t, block=block,
        src=inverse[:n].astype(np.int64), dst=inverse[n:2 * n].astype(np.int64),
        amount=amount / 10.0 ** token.decimals, tx=tx, log=log, bridge=bridge, legs=legs,
    )
    flows.frozen = _freezes(session, token.id, flows)
    return flows


def extend_flows(session: Session, token: Token, flows: Flows, after_block: int) -> Flows:
    """`flows` plus the token's transfers in blocks after `after_block`: what ingest added
    since `flows` was loaded. New addresses get the next indices; existing ones keep theirs."""
    t, block, senders, receivers, amount, tx, log = _columns(session, token.id, after_block)
    n, known = t.size, flows.n_addresses
    # The numbering is kept with the flows: a block costs its own addresses, not a dict
    # of every address of the token.
    seen = flows.numbering()
    fresh: list[str] = []

    def number(a: bytes) -> int:
        name = a.decode()
        found = seen.get(name)
        if found is None:
            found = seen[name] = known + len(fresh)
            fresh.append(name)
        return found

    ids = np.fromiter((number(a) for a in senders.tolist() + receivers.tolist()),
                      dtype=np.int64, count=2 * n)
    added = np.array(fresh, dtype=object)
    extended = Flows(
        token_id=token.id, decimals=token.decimals,
        addresses=np.concatenate((flows.addresses, added)),
        t=_append(flows.t, t), block=_append(flows.block, block),
        src=_append(flows.src, ids[:n]), dst=_append(flows.dst, ids[n:]),
        amount=_append(flows.amount, amount / 10.0 ** token.decimals),
        tx=_append(flows.tx, tx), log=_append(flows.log, log),
        bridge=_append(flows.bridge, np.full(n, -1, dtype=np.int64)), legs=flows.legs,
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


def _columns(session: Session, token_id: int, after_block: int = -1) -> tuple[np.ndarray, ...]:
    """(time, block, sender, receiver, amount, tx hash, log position) arrays in chain order."""
    if session.get_bind().dialect.name == "postgresql":
        return _copy_columns(session, token_id, after_block)
    rows = session.execute(
        select(Transfer.block_time, Transfer.block_number, Transfer.from_address,
               Transfer.to_address, Transfer.amount, Transfer.tx_hash, Transfer.log_index,
               Transfer.sub_index)
        .where(Transfer.token_id == token_id, Transfer.block_number > after_block)
        .order_by(Transfer.block_number, Transfer.log_index, Transfer.sub_index)
    ).all()
    return (
        np.array([int(as_utc(r[0]).timestamp()) for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype=np.int64),
        np.array([r[2] for r in rows], dtype="S42"),
        np.array([r[3] for r in rows], dtype="S42"),
        np.array([float(r[4]) for r in rows], dtype=np.float64),
        np.array([r[5] for r in rows], dtype="S66"),
        np.array([(r[6] << 16) | r[7] for r in rows], dtype=np.int64),
    )


# Binary COPY rows of (int8, int8, text(42), text(42), float8, text(66), int8) are fixed-width:
# each field is a 4-byte length and its bytes, after a 2-byte field count.
_ROW = np.dtype([
    ("nfields", ">i2"), ("l0", ">i4"), ("t", ">i8"), ("l1", ">i4"), ("block", ">i8"),
    ("l2", ">i4"), ("src", "S42"), ("l3", ">i4"), ("dst", "S42"), ("l4", ">i4"),
    ("amount", ">f8"), ("l5", ">i4"), ("tx", "S66"), ("l6", ">i4"), ("log", ">i8"),
])
_HEADER = 19  # PGCOPY signature, flags, header-extension length


def _copy_columns(session: Session, token_id: int, after_block: int) -> tuple[np.ndarray, ...]:
    """The token's transfers as column arrays, straight from a binary COPY."""
    raw = session.connection().connection.driver_connection
    assert isinstance(raw, psycopg.Connection)
    query = (
        "COPY (SELECT extract(epoch FROM block_time)::int8, block_number, from_address, "
        "to_address, amount::float8, tx_hash, (log_index::int8 << 16) | sub_index "
        f"FROM transfers WHERE token_id = {int(token_id)} "
        f"AND block_number > {int(after_block)} "
        "ORDER BY block_number, log_index, sub_index) TO STDOUT (FORMAT binary)"
    )
    buffer = bytearray()
    with raw.cursor() as cur, cur.copy(query) as copy:
        for chunk in copy:
            buffer += chunk
    body = memoryview(buffer)[_HEADER:len(buffer) - 2]  # minus the -1 trailer
    rows = np.frombuffer(body, dtype=_ROW)
    if rows.size and not ((rows["l2"] == 42).all() and (rows["l5"] == 66).all()):
        raise ValueError("unexpected transfer row layout in binary COPY")
    return (rows["t"].astype(np.int64), rows["block"].astype(np.int64), rows["src"].copy(),
            rows["dst"].copy(), rows["amount"].astype(np.float64), rows["tx"].copy(),
            rows["log"].astype(np.int64))


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
