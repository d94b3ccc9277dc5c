"""Following several chains in one process: one ChainFollower per configured chain.

Each follower owns its chain's RpcClient (failover, rate limit) and Poller (cursor,
confirmations, reorg window, adaptive getLogs), so that nothing about one chain's nodes or
history reaches another's: a chain whose nodes are all down fails its own polls, and the
others go on. Entry points (`amlmon ingest`, `amlmon run`, `amlmon chain list`) build the
followers from `Settings.chain_list()` and schedule one poll loop per chain.

The followers of this process are listed on a process-wide board, which `/readyz` reads:
each chain's status (ok, lagging, down) as this process last saw it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from models import Block, Chain, IngestCursor
from monitor import metrics
from monitor.chain.rpc import RpcClient, RpcError
from monitor.db import transaction
from monitor.errors import UserError
from monitor.ingest.poller import IngestOptions, IngestStats, Poller, ProgressFn
from monitor.settings import SHORTHAND_KEY, ChainConfig, ConfigError, Settings

log = logging.getLogger(__name__)

# A chain is `lagging` when its cursor is more than this many blocks behind the safe head
# (head - confirmations): the same 100 blocks as the shipped AmlmonIngestLagHigh alert.
LAGGING_BLOCKS = 100

Status = Literal["ok", "lagging", "down"]


class ChainIdMismatch(ConfigError):
    """The node of a configured chain serves another chain; the message names the chain."""


@dataclass(frozen=True)
class ChainState:
    """One chain as `amlmon chain list` and `/readyz` show it."""

    chain_id: int | None
    name: str
    cursor_block: int | None
    head_block: int | None
    lag_blocks: int | None
    status: Status

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def chain_state(chain: ChainConfig, cursor: int | None, head: int | None,
                reachable: bool) -> ChainState:
    """The state of a chain from its stored cursor and the node's head (None: unknown)."""
    lag = max(head - cursor, 0) if head is not None and cursor is not None else None
    status: Status = "ok"
    if not reachable:
        status = "down"
    elif lag is not None and lag > chain.confirmations + LAGGING_BLOCKS:
        status = "lagging"
    return ChainState(chain.chain_id, chain.name, cursor, head, lag, status)


def stored_cursors(session: Session, chain_ids: Iterable[int | None]) -> dict[int, int]:
    """chain id -> the last block ingested, of the chains that have a cursor."""
    ids = [c for c in chain_ids if c is not None]
    rows = session.execute(select(IngestCursor.chain_id, IngestCursor.block_number)
                           .where(IngestCursor.chain_id.in_(ids)))
    return {chain_id: number for chain_id, number in rows}


def open_client(chain: ChainConfig, settings: Settings, *, timeout: float | None = None,
                max_retries: int | None = None) -> RpcClient:
    """The chain's own client: its URLs in failover order and its rate limit."""
    return RpcClient(
        chain.rpc_urls, chain=chain.label if chain.chain_id is not None else "unknown",
        timeout=timeout or settings.rpc_timeout_seconds,
        max_retries=max_retries or settings.rpc_max_retries,
        requests_per_second=chain.rpc_requests_per_second,
    )


def ingest_options(chain: ChainConfig) -> IngestOptions:
    return IngestOptions(
        confirmations=chain.confirmations, reorg_window=chain.reorg_window_blocks,
        initial_range=chain.getlogs_initial_range, max_range=chain.getlogs_max_range,
    )


def check_chain_id(client: RpcClient, chain: ChainConfig) -> ChainConfig:
    """The chain with its id confirmed by the node (eth_chainId), or filled in for the
    one-chain shorthand without chain_id. RpcError when the node is unreachable;
    ChainIdMismatch when it serves another chain."""
    served = client.chain_id()
    if chain.chain_id is None:
        return chain.with_chain_id(served)
    if served != chain.chain_id:
        key = "chain_id" if chain.key == SHORTHAND_KEY else f"{chain.key}.chain_id"
        raise ChainIdMismatch(f"invalid config: {key}: chain {chain.name}: its node serves "
                              f"chain {served}, not {chain.chain_id}")
    return chain


# `amlmon chain list` and start-up checks ask each node once, quickly: a node that is down
# must not hold the command up for the full retry policy.
PROBE_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Probe:
    """What one quick look at a chain's node found."""

    chain: ChainConfig  # with its id filled in when the node answered (the shorthand)
    head: int | None  # None: unreachable
    error: str | None


def probe(chain: ChainConfig, settings: Settings) -> Probe:
    """Ask the chain's nodes (each once, with a short timeout) for their chain id and head.
    ChainIdMismatch when a node serves another chain; an unreachable node is a Probe
    with head None, not an error."""
    timeout = min(settings.rpc_timeout_seconds, PROBE_TIMEOUT_SECONDS)
    with open_client(chain, settings, timeout=timeout,
                     max_retries=len(chain.rpc_urls)) as client:
        try:
            checked = check_chain_id(client, chain)
            return Probe(checked, client.block_number(), None)
        except RpcError as exc:
            return Probe(chain, None, str(exc))


def select_chains(chains: list[ChainConfig], wanted: str | None) -> list[ChainConfig]:
    """The chains `--chain NAME|ID` names (all of them for None); UserError for none."""
    if wanted is None:
        return chains
    chosen = [c for c in chains if wanted in (c.name, str(c.chain_id))]
    if not chosen:
        known = ", ".join(f"{c.name} ({c.chain_id or 'id from the node'})" for c in chains)
        raise UserError(f"--chain {wanted}: no configured chain has that name or id "
                        f"(configured: {known})")
    return chosen


class ChainFollower:
    """One chain's ingest: its client, its Poller, and what the last poll saw."""

    def __init__(self, chain: ChainConfig, settings: Settings, sessions: sessionmaker[Session],
                 progress: ProgressFn | None = None) -> None:
        if chain.chain_id is None:
            raise ValueError("resolve the shorthand's chain id first (check_chain_id)")
        self.chain = chain
        self.sessions = sessions
        self.client = open_client(chain, settings)
        self.poller = self.make_poller(progress)
        self.checked = False  # eth_chainId confirmed; asked again after a failure
        self._lock = threading.Lock()
        self.head: int | None = None
        self.reachable = True  # until a poll fails
        self.last_error: str | None = None
        self.last_success: float | None = None

    @property
    def name(self) -> str:
        return self.chain.name

    @property
    def chain_id(self) -> int:
        assert self.chain.chain_id is not None  # checked in __init__
        return self.chain.chain_id

    def make_poller(self, progress: ProgressFn | None = None) -> Poller:
        """The chain's Poller: the one place it is built (a hook for more per-chain ingest)."""
        return Poller(self.client, self.sessions, self.chain_id, ingest_options(self.chain),
                      progress)

    def connect(self) -> None:
        """Confirm the node serves this chain (once, and again after a failed poll: a node
        that comes back may be another one), and record the chain's name and the age of its
        last committed block."""
        if self.checked:
            return
        try:
            check_chain_id(self.client, self.chain)
        except Exception as exc:
            self._failed(exc)
            raise
        with transaction(self.sessions) as session:
            # The configured name, for reports. Only on a row `token add` made: a chain
            # without tokens has nothing to ingest, and two daemons inserting it would race.
            session.execute(update(Chain).where(Chain.chain_id == self.chain_id,
                                                Chain.name.is_distinct_from(self.name))
                            .values(name=self.name))
            cursor = session.get(IngestCursor, self.chain_id)
            block = session.get(Block, (self.chain_id, cursor.block_number)) if cursor else None
        if block is not None:
            metrics.chain_last_block_age_seconds.set_block_time(self.chain.label,
                                                                block.timestamp)
        self.checked = True

    def poll(self, to_block: int | None = None,
             stop: threading.Event | None = None) -> IngestStats:
        """Catch up to the safe head (or `to_block`); raises what failed, after noting it."""
        self.connect()
        try:
            # The head as this poll starts, for /readyz while the poll runs: a backfill is
            # one poll that can last hours, and it is `lagging` all along. One cheap request
            # per poll; the Poller asks again for its own target.
            head = self.client.block_number()
            with self._lock:
                self.head = head
            stats = self.poller.catch_up(to_block, stop)
        except Exception as exc:
            self._failed(exc)
            raise
        with self._lock:
            self.head = stats.head
            self.reachable, self.last_error, self.last_success = True, None, time.time()
        return stats

    def observe_head(self) -> None:
        """Ask the node for its head only: what a daemon that does not hold the chain's lease
        does, so that its /readyz still says whether the chain is followed and reachable."""
        try:
            self.connect()
            head = self.client.block_number()
        except RpcError as exc:
            self._failed(exc)
            return
        metrics.chain_head_block.labels(self.chain.label).set(head)
        with self._lock:
            self.head, self.reachable, self.last_error = head, True, None

    def _failed(self, exc: Exception) -> None:
        with self._lock:
            self.reachable = False
            self.checked = False
            self.last_error = f"{type(exc).__name__}: {exc}"

    def state(self, cursor: int | None) -> ChainState:
        with self._lock:
            return chain_state(self.chain, cursor, self.head, self.reachable)

    def close(self) -> None:
        self.client.close()


class ChainBoard:
    """The followers of this process, for /readyz (which may run in the same process)."""

    def __init__(self) -> None:
        self._followers: dict[str, ChainFollower] = {}
        self._lock = threading.Lock()

    def add(self, follower: ChainFollower) -> None:
        with self._lock:
            self._followers[follower.name] = follower

    def remove(self, follower: ChainFollower) -> None:
        with self._lock:
            if self._followers.get(follower.name) is follower:
                del self._followers[follower.name]

    def __bool__(self) -> bool:
        with self._lock:
            return bool(self._followers)

    def states(self, session: Session) -> list[ChainState]:
        """Every followed chain's state, in configuration order, cursors read from the
        database (the poll that moves them may still be running)."""
        with self._lock:
            followers = list(self._followers.values())
        cursors = stored_cursors(session, [f.chain_id for f in followers])
        return [f.state(cursors.get(f.chain_id)) for f in followers]


BOARD = ChainBoard()
