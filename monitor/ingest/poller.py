"""The ingest loop of one chain: backfill, tail the safe head, repair reorgs.

Each batch of blocks commits its transfers, compliance events, bridge events (and the
bridge transfers they link), block headers and the chain cursor in one transaction, so a
crash at any point loses and duplicates nothing: the next run resumes after the last
committed batch. Registered bridge contracts are fetched with the tokens, in the same
eth_getLogs filter (their addresses and the bridge topics added), so no second pass over
the range is needed; a bridge registered later is backfilled alone, as a token is.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, partial
from operator import attrgetter
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from models import Bridge, Token
from monitor import metrics
from monitor.bridges import linking
from monitor.bridges.protocols import ALL_BRIDGE_TOPICS
from monitor.chain.bridge_decode import (
    BridgeDecodeResult,
    BridgeInfo,
    BridgeRecord,
    decode_bridge_logs,
)
from monitor.chain.decode import ComplianceRecord, DecodeResult, TransferRecord, decode_logs
from monitor.chain.events import ALL_TOPICS
from monitor.chain.logs import LogFetcher
from monitor.chain.rpc import RpcClient
from monitor.db import transaction
from monitor.ingest import indexes, store
from monitor.ingest.reorg import find_fork
from monitor.ingest.store import Header
from monitor.scoring import queue

log = logging.getLogger(__name__)

_NUMBER = attrgetter("block_number")
_HASH = attrgetter("block_hash")
_TOKEN = attrgetter("token")

ProgressFn = Callable[[str, int, int, int], None]


class ChainMovedDuringFetch(Exception):
    """Logs and headers of one batch disagree: the node reorganised while we fetched."""


@dataclass
class IngestStats:
    transfers: int = 0
    compliance_events: int = 0
    bridge_events: int = 0
    malformed: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    reorgs: int = 0
    cursor: int | None = None
    head: int | None = None


@dataclass(frozen=True)
class IngestOptions:
    confirmations: int = 12
    reorg_window: int = 128
    initial_range: int = 50
    max_range: int = 10000
    # A backfill expected to add at least this many transfers, and at least as many as
    # the table holds, defers the upkeep of its secondary indexes (monitor.ingest.indexes).
    defer_indexes_min_rows: int = 100_000


class Poller:
    """Ingests every registered token of one chain from one node."""

    def __init__(
        self,
        client: RpcClient,
        sessions: sessionmaker[Session],
        chain_id: int,
        options: IngestOptions,
        progress: ProgressFn | None = None,
    ) -> None:
        self.client = client
        self.sessions = sessions
        self.chain_id = chain_id
        self.options = options
        self.progress = progress
        self.label = str(chain_id)
        self.fetcher = LogFetcher(
            client, initial_range=options.initial_range, max_range=options.max_range
        )
        bind = sessions.kw.get("bind")
        self._engine = bind if isinstance(bind, Engine) and indexes.supported(bind) else None
        self._copy = self._engine is not None

    def catch_up(
        self, to_block: int | None = None, stop: threading.Event | None = None, attempts: int = 5
    ) -> IngestStats:
        """poll_once, retried while the node reorganises under us."""
        for attempt in range(1, attempts + 1):
            try:
                return self.poll_once(to_block, stop)
            except ChainMovedDuringFetch as exc:
                log.warning("chain %s: %s; retrying (%s/%s)", self.chain_id, exc, attempt,
                            attempts)
        return self.poll_once(to_block, stop)

    def poll_once(
        self, to_block: int | None = None, stop: threading.Event | None = None
    ) -> IngestStats:
        """Catch up to the safe head (or `to_block`), repairing a reorg first if there was one."""
        stats = IngestStats()
        head = self.client.block_number()
        stats.head = head
        metrics.chain_head_block.labels(self.label).set(head)
        target = head - self.options.confirmations
        if to_block is not None:
            target = min(target, to_block)
        if self._engine is not None:
            indexes.restore_missing(self._engine)
        with transaction(self.sessions) as session:
            tokens = self._tokens(session)
            bridges = self._bridges(session)
            if not tokens and not bridges:
                log.warning("no tokens registered on chain %s; nothing to ingest", self.chain_id)
                return stats
            cursor = store.get_cursor(session, self.chain_id)
            if cursor is None:
                first = min([t.start_block for t in tokens] + [b.start_block for b in bridges]) - 1
                store.set_cursor(session, self.chain_id, first, None)
                cursor_number, cursor_hash = first, None
            else:
                cursor_number, cursor_hash = cursor.block_number, cursor.block_hash
        if cursor_hash is not None and self._moved(cursor_number, cursor_hash, head):
            cursor_number, cursor_hash = self._repair_reorg(cursor_number, head)
            stats.reorgs += 1
        self._backfill_laggards(cursor_number, stats, stop)
        if target > cursor_number:
            self._ingest_range(cursor_number, target, stats, stop, start_hash=cursor_hash)
        with self.sessions() as session:
            cursor = store.get_cursor(session, self.chain_id)
            stats.cursor = cursor.block_number if cursor else None
        if stats.cursor is not None:
            metrics.ingested_block.labels(self.label).set(stats.cursor)
            metrics.ingest_lag_blocks.labels(self.label).set(max(head - stats.cursor, 0))
        return stats

    def _tokens(self, session: Session) -> list[Token]:
        return list(session.scalars(select(Token).where(Token.chain_id == self.chain_id)))

    def _bridges(self, session: Session) -> list[Bridge]:
        return list(session.scalars(select(Bridge).where(Bridge.chain_id == self.chain_id)))

    # -- reorgs ------------------------------------------------------------------------

    def _moved(self, number: int, block_hash: str, head: int) -> bool:
        if number > head:
            return True  # the chain got shorter than what we stored (rollback)
        if number < 0:
            return False
        block = self.client.get_block(number)
        return block is None or str(block["hash"]).lower() != block_hash

    def _repair_reorg(self, cursor: int, head: int) -> tuple[int, str | None]:
        """Delete what the node no longer has and rewind; returns the new cursor and hash."""
        window = self.options.reorg_window
        low = max(cursor - window + 1, 0)
        with self.sessions() as session:
            stored = store.stored_hashes(session, self.chain_id, low, cursor)
        numbers = [n for n in sorted(stored) if n <= head]
        node = {h.number: h.hash for h in self._headers(numbers)}
        fork = find_fork(stored, node)
        if fork is None:
            fork = low
            log.error(
                "chain %s reorganised deeper than the %s-block window (cursor %s); "
                "re-ingesting from block %s", self.chain_id, window, cursor, fork,
            )
        depth = cursor - fork + 1
        with transaction(self.sessions) as session:
            touched = store.delete_from(session, self.chain_id, fork)
            # Every token of the chain, even one that lost no rows: the new branch may hold
            # transfers of it below blocks a scorer has already read (see ScoringCache).
            queue.mark(session, touched, "reorg")
            queue.mark_tokens(session, [t.id for t in self._tokens(session)], "reorg")
            store.set_cursor(session, self.chain_id, fork - 1, stored.get(fork - 1))
        metrics.reorgs_total.labels(self.label).inc()
        metrics.reorg_depth_blocks.observe(depth)
        log.warning("chain %s reorg: %s block(s) orphaned from block %s; %s address(es) to "
                    "re-score", self.chain_id, depth, fork, len(touched))
        return fork - 1, stored.get(fork - 1)

    # -- fetching and writing ----------------------------------------------------------

    def _backfill_laggards(
        self, cursor: int, stats: IngestStats, stop: threading.Event | None
    ) -> None:
        """Tokens and bridges registered after the cursor moved on catch up alone, without
        refetching others."""
        with self.sessions() as session:
            laggards = [t for t in self._tokens(session) if _synced(t) < cursor]
            late = [b for b in self._bridges(session) if _synced(b) < cursor]
        if not laggards and not late:
            return
        start = min([_synced(t) for t in laggards] + [_synced(b) for b in late])
        log.info("chain %s: backfilling %s new token(s) and %s new bridge(s) from block %s "
                 "to %s", self.chain_id, len(laggards), len(late), start + 1, cursor)
        self._ingest_range(start, cursor, stats, stop, tokens=laggards, move_cursor=False,
                           bridges=late)

    def _ingest_range(
        self,
        start: int,
        end: int,
        stats: IngestStats,
        stop: threading.Event | None,
        tokens: Sequence[Token] | None = None,
        move_cursor: bool = True,
        start_hash: str | None = None,
        bridges: Sequence[Bridge] | None = None,
    ) -> None:
        """Ingest blocks (start, end] in batches, one transaction each."""
        if tokens is None:
            with self.sessions() as session:
                tokens = [t for t in self._tokens(session) if _synced(t) >= start]
        if bridges is None:
            with self.sessions() as session:
                bridges = [b for b in self._bridges(session) if _synced(b) >= start]
        by_address = {t.address: t for t in tokens}
        token_ids = {address: token.id for address, token in by_address.items()}
        synced = {t.id: _synced(t) for t in tokens}
        refs = self._bridge_refs(bridges)
        bridge_synced = {b.id: _synced(b) for b in bridges}
        transform = partial(_decode_batch, frozenset(by_address),
                            {a: BridgeInfo(r.protocol, r.endpoint_id) for a, r in refs.items()})
        topics = (*ALL_TOPICS, *ALL_BRIDGE_TOPICS) if bridges else ALL_TOPICS
        previous = (start, start_hash)
        total = end - start
        written = 0  # transfers of this range handed to the writer
        deferring: Future[indexes.Deferral | None] | None = None
        # Read once, and only if a backfill is large enough to ask.
        engine = self._engine
        table_rows = cache(partial(indexes.table_rows, engine)) if engine is not None else None
        try:
            # One writer thread: batch k commits while batch k+1 is fetched, decoded and
            # checked. Batches still commit one at a time, in order, each with its cursor.
            with ThreadPoolExecutor(1, thread_name_prefix="ingest-writer") as writer:
                pending: Future[int] | None = None
                for low, high, (decoded, bridged) in self.fetcher.iter_ranges(
                    sorted(by_address.keys() | refs.keys()), topics, start + 1, end,
                    transform=transform,
                ):
                    self._count_bad(decoded, stats)
                    self._count_bad(bridged, stats)
                    transfers, compliance = decoded.transfers, decoded.compliance
                    if any(synced[t.id] >= low or t.start_block > low for t in tokens):
                        transfers = [r for r in transfers if _wanted(r, by_address, synced)]
                        compliance = [r for r in compliance if _wanted(r, by_address, synced)]
                    crossings = [r for r in bridged.records
                                 if r.block_number > bridge_synced[refs[r.bridge].id]
                                 and r.block_number >= refs[r.bridge].start_block]
                    # NTT events leave out addresses and amounts: read from the transactions
                    # here, in the fetch loop, before the batch's transaction opens.
                    crossings = linking.enrich_ntt(self.client, crossings, refs)
                    headers = self._batch_headers(
                        low, high, end, [*transfers, *compliance, *crossings], move_cursor,
                        previous
                    )
                    previous = (high, headers[high].hash)
                    behind = [t.id for t in tokens if synced[t.id] < high]
                    for token_id in behind:
                        synced[token_id] = high
                    bridges_behind = [b for b, n in bridge_synced.items() if n < high]
                    for bridge_id in bridges_behind:
                        bridge_synced[bridge_id] = high
                    times = {h.number: h.timestamp for h in headers.values()}
                    # Formatted here, while the writer still commits the previous batch: the
                    # writer waits on Postgres, the slowest stage, and should do nothing else.
                    text = (store.copy_text(self.chain_id, token_ids, transfers, times)
                            if self._copy and transfers else None)
                    batch = partial(self._commit_batch, token_ids, transfers, compliance, headers,
                                    times, text, high, end, behind, move_cursor,
                                    _Crossings(refs, crossings, bridges_behind))
                    if pending is not None:
                        stats.transfers += pending.result()
                    if (engine is not None and table_rows is not None and deferring is None
                            and self._defer_indexes(written, len(transfers), start, high, end,
                                                    table_rows)):
                        # On the writer: after the commits before it, before this batch's.
                        deferring = writer.submit(indexes.Deferral.start, engine)
                    written += len(transfers)
                    pending = writer.submit(batch)
                    stats.compliance_events += len(compliance)
                    stats.bridge_events += len(crossings)
                    if self.progress:
                        self.progress("backfill" if move_cursor else "new tokens", high - start,
                                      total, stats.transfers)
                    if stop is not None and stop.is_set():
                        break
                if pending is not None:
                    stats.transfers += pending.result()
        finally:
            deferral = deferring.result() if deferring is not None else None
            if deferral is not None:
                deferral.finish()

    def _defer_indexes(self, written: int, batch: int, start: int, high: int, end: int,
                       table_rows: Callable[[], int]) -> bool:
        """Whether the rest of a range is worth writing without the secondary indexes,
        from this batch (blocks up to `high`) on. Its rows are estimated from the density of
        the blocks so far; they must reach the option's minimum and the rows the table
        holds before them, since the indexes are then built over the whole table: a
        build costs a fraction of the upkeep per row, but it is paid for every row."""
        minimum = self.options.defer_indexes_min_rows
        if minimum <= 0:
            return False
        coming = batch + (written + batch) * (end - high) // (high - start)
        return coming >= minimum and coming >= table_rows() + written

    def _commit_batch(
        self,
        token_ids: dict[str, int],
        transfers: list[TransferRecord],
        compliance: list[ComplianceRecord],
        headers: dict[int, Header],
        times: dict[int, datetime],
        text: store.CopyText | None,
        high: int,
        end: int,
        behind: list[int],
        move_cursor: bool,
        crossings: _Crossings | None = None,
    ) -> int:
        """One transaction: the batch's rows, its headers, the cursor; returns new rows."""
        with transaction(self.sessions) as session:
            new = store.write_transfers(session, self.chain_id, token_ids, transfers, times,
                                        text)
            store.write_compliance(session, self.chain_id, token_ids, compliance, times)
            if crossings is not None:
                linking.write_events(session, self.chain_id, crossings.refs,
                                     crossings.records, times)
                linking.set_synced(session, crossings.behind, high)
            if move_cursor:
                window = [h for n, h in headers.items()
                          if n > end - self.options.reorg_window or n == high]
                store.save_headers(session, self.chain_id, window)
                store.set_cursor(session, self.chain_id, high, headers[high].hash)
                store.prune_headers(session, self.chain_id, high - self.options.reorg_window)
            store.set_synced(session, behind, high)
        for address, count in Counter(map(_TOKEN, transfers)).items():
            metrics.transfers_ingested_total.labels(self.label, address).inc(count)
        if move_cursor:
            metrics.ingested_block.labels(self.label).set(high)
            metrics.chain_last_block_age_seconds.set_block_time(self.label,
                                                                headers[high].timestamp)
        return new

    def _batch_headers(
        self,
        low: int,
        high: int,
        end: int,
        records: Sequence[TransferRecord | ComplianceRecord | BridgeRecord],
        in_window: bool,
        previous: tuple[int, str | None],
    ) -> dict[int, Header]:
        """Headers for block times, the cursor, and (near the head) every block of the window.

        Raises ChainMovedDuringFetch when logs, headers and the stored cursor do not form
        one chain: the node reorganised mid-batch, and the next poll repairs it.
        """
        numbers = list(map(_NUMBER, records))
        wanted = set(numbers)
        wanted.add(high)
        first_window = max(low, end - self.options.reorg_window + 1)
        if in_window:
            wanted.update(range(first_window, high + 1))
        headers = {h.number: h for h in self._headers(sorted(wanted))}
        if high not in headers:
            raise ChainMovedDuringFetch(f"block {high} vanished while fetching")
        # Compared as whole lists: no hashing of thousands of 66-character strings.
        hashes = {n: h.hash for n, h in headers.items()}
        if list(map(hashes.get, numbers)) != list(map(_HASH, records)):
            changed = next(r.block_number for r in records
                           if hashes.get(r.block_number) != r.block_hash)
            raise ChainMovedDuringFetch(f"block {changed} changed while fetching")
        if in_window:
            parents = {n: h.parent_hash for n, h in headers.items() if n >= first_window}
            hashes[previous[0]] = previous[1] or parents.get(previous[0] + 1, "")
            for number, parent in parents.items():
                if number - 1 in hashes and hashes[number - 1] != parent:
                    raise ChainMovedDuringFetch(f"block {number} does not extend {number - 1}")
        return headers

    def _headers(self, numbers: Iterable[int]) -> list[Header]:
        numbers = list(numbers)
        if not numbers:
            return []
        return [Header.from_rpc(b) for b in self.client.get_blocks(numbers) if b is not None]

    def _bridge_refs(self, bridges: Sequence[Bridge]) -> dict[str, _BridgeRef]:
        if not bridges:
            return {}
        with self.sessions() as session:
            tokens = {token_id: address for token_id, address in session.execute(
                select(Token.id, Token.address).where(
                    Token.id.in_([b.token_id for b in bridges if b.token_id is not None])))}
        return {b.address: _BridgeRef(b.id, b.protocol, b.endpoint_id,
                                      tokens.get(b.token_id) if b.token_id else None,
                                      b.start_block)
                for b in bridges}

    def _count_bad(self, decoded: DecodeResult | BridgeDecodeResult,
                   stats: IngestStats) -> None:
        for bad in decoded.malformed:
            metrics.logs_malformed_total.labels(self.label).inc()
            log.warning("skipped malformed log tx=%s log_index=%s block=%s: %s",
                        bad.tx_hash, bad.log_index, bad.block_number, bad.reason)
        stats.malformed += len(decoded.malformed)
        for reason, count in decoded.skipped.items():
            metrics.logs_skipped_total.labels(self.label, reason).inc(count)
        stats.skipped.update(decoded.skipped)


@dataclass(frozen=True)
class _BridgeRef(linking.BridgeRef):
    start_block: int = 0


@dataclass(frozen=True)
class _Crossings:
    """A batch's bridge events, with what writing them needs."""

    refs: dict[str, _BridgeRef]
    records: list[BridgeRecord]
    behind: list[int]  # bridges whose synced block the batch moves


def _decode_batch(
    tokens: frozenset[str], bridges: dict[str, BridgeInfo], logs: Sequence[dict[str, Any]]
) -> tuple[DecodeResult, BridgeDecodeResult]:
    """Split one reply of the shared filter: the bridges' protocol events to the bridge
    decoder, the tokens' logs to the token decoder, and nothing else (a bridge contract
    that is not a registered token may emit Transfer and the like)."""
    if not bridges:
        return decode_logs(logs), BridgeDecodeResult()
    ours: list[dict[str, Any]] = []
    crossing: list[dict[str, Any]] = []
    topics = frozenset(ALL_BRIDGE_TOPICS)
    for entry in logs:
        address = str(entry.get("address", "")).lower()
        topic = entry.get("topics") or [""]
        if address in bridges and str(topic[0]).lower() in topics:
            crossing.append(entry)
        elif address in tokens or address not in bridges:
            ours.append(entry)
    return decode_logs(ours), decode_bridge_logs(crossing, bridges)


def _wanted(
    record: TransferRecord | ComplianceRecord, tokens: dict[str, Token], synced: dict[int, int]
) -> bool:
    token = tokens[record.token]
    return record.block_number > synced[token.id] and record.block_number >= token.start_block


def _synced(item: Token | Bridge) -> int:
    return item.synced_block if item.synced_block is not None else item.start_block - 1
