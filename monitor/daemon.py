"""The long-lived monitor: scheduled ingest, scoring, retraining and notification jobs.

APScheduler runs each job on its own interval, one instance at a time, coalescing missed
runs. Every configured chain has its own ingest job (`ingest:<name>`) on its own poll
interval, so that a chain whose nodes are all down only fails its own ticks: the others go
on, and it catches up by itself when a node answers again. A job that raises is logged,
counted and simply runs again on its next tick: one bad block, an RPC outage or a
database restart never stops the daemon (the engine's pool pre-ping reconnects). New
transfers are scored incrementally in the same tick that ingested them, so an alert
follows within one poll.

Several daemons may share one Postgres: each chain's ingest is held by one process at a
time through a session-level advisory lock on a dedicated connection, per chain, so that
daemons can split the chains between them or take over each other's. If the holder dies,
its connection closes, the lock is released, and another daemon takes over on its next
tick. (SQLite is single-process and needs no lock.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import Counter
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from monitor import db, jobs, metrics
from monitor.bridges.integrity import expire_unmatched
from monitor.bridges.registry import sync_settings
from monitor.ingest.follow import BOARD, ChainFollower
from monitor.ranker import store as rankers
from monitor.scoring import rules_file
from monitor.scoring.config import RULE_IDS
from monitor.scoring.service import ScoringCache
from monitor.settings import ChainConfig, Settings
from monitor.tokens import list_tokens

log = logging.getLogger(__name__)

job_failures_total = Counter(
    "amlmon_job_failures_total", "Scheduled job runs that raised", ["job"],
    registry=metrics.REGISTRY,
)

class ChainLease:
    """The right to ingest one chain, held as a Postgres advisory lock."""

    def __init__(self, engine: Engine, chain_id: int) -> None:
        self.engine = engine
        self.chain_id = chain_id
        self._conn: Connection | None = None

    def acquire(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except Exception:  # the connection died, and the lock with it
                self.release()
        conn = self.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:ns, :chain)"),
                           {"ns": db.CHAIN_LEASE_LOCKS, "chain": self.chain_id}).scalar()
        conn.commit()
        if got:
            self._conn = conn
            log.info("holding the ingest lease of chain %s", self.chain_id)
            return True
        conn.close()
        return False

    @property
    def held(self) -> bool:
        """Whether this process holds the lease, as of the last acquire() (which only the
        ingest job calls: the lease's connection is not shared between threads)."""
        return self.engine.dialect.name != "postgresql" or self._conn is not None

    def release(self) -> None:
        if self._conn is not None:
            try:
                # Closing only returns the connection to the pool, where a session-level
                # lock would live on: unlock first (a process that stops one daemon and
                # goes on, or hands a chain over, must let another take it at once).
                self._conn.execute(text("SELECT pg_advisory_unlock(:ns, :chain)"),
                                   {"ns": db.CHAIN_LEASE_LOCKS, "chain": self.chain_id})
                self._conn.commit()
            except Exception:  # the connection died, and the lock with it; drop it
                self._conn.invalidate()
            finally:
                self._conn.close()
                self._conn = None


class Daemon:
    """Follows every given chain (one `ingest:<name>` job each, so that a chain whose nodes
    are down only fails its own ticks), scores the tokens of the chains whose lease it
    holds, retrains and delivers notifications."""

    def __init__(self, settings: Settings, engine: Engine, sessions: sessionmaker[Session],
                 chains: Sequence[ChainConfig]) -> None:
        if not chains:
            raise ValueError("a daemon follows at least one chain")
        self.settings = settings
        self.sessions = sessions
        self.stop = threading.Event()
        self.followers = {c.name: ChainFollower(c, settings, sessions) for c in chains}
        self.leases = {c.name: ChainLease(engine, f.chain_id)
                       for c, f in zip(chains, self.followers.values(), strict=True)}
        self.scoring = ScoringCache()  # incremental runs re-score only what new blocks touch
        # The rules file as the last score tick read it: a change is audited (config.reload).
        self.rules_seen = rules_file.state(settings)
        self.rules_lock = threading.Lock()  # ingest, score and retrain ticks run in parallel
        self.scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            # One thread per chain's ingest besides score, retrain and notify: a chain whose
            # poll hangs on timeouts never waits for a free thread behind another.
            executors={"default": ThreadPoolExecutor(len(chains) + 4)},
            timezone="UTC",
        )
        self.scheduler.add_listener(self._on_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        for name, follower in self.followers.items():
            self._add(f"ingest:{name}", partial(self.ingest, name),
                      follower.chain.poll_interval_seconds)
        self._add("score", self.score, settings.score_interval_seconds)
        self._add("retrain", self.retrain, settings.retrain_interval_seconds)
        self._add("notify", self.notify, settings.notify_interval_seconds)
        # Lone bridge sides are judged on the score tick's cadence: often enough for an
        # hour-scale bridge_unmatched_after_seconds, cheap (pending rows only).
        self._add("bridges", self.bridges, settings.score_interval_seconds)

    @property
    def lease(self) -> ChainLease:
        """The lease of a one-chain daemon."""
        if len(self.leases) != 1:
            raise AttributeError("this daemon follows several chains: use leases[name]")
        return next(iter(self.leases.values()))

    def _add(self, name: str, func: Callable[[], Any], seconds: float) -> None:
        self.scheduler.add_job(func, "interval", seconds=seconds, id=name, name=name,
                               next_run_time=_now())

    def _on_job(self, event: JobExecutionEvent) -> None:
        if event.exception is not None:
            job_failures_total.labels(event.job_id).inc()
            log.error("job %s failed (retrying on its next tick): %s", event.job_id,
                      f"{type(event.exception).__name__}: {event.exception}")
        else:
            metrics.job_last_success_timestamp_seconds.labels(event.job_id).set(time.time())

    # -- jobs --------------------------------------------------------------------------

    def ingest(self, name: str) -> None:
        """One poll of one chain, if this process holds its lease; else only its head."""
        follower, lease = self.followers[name], self.leases[name]
        if self.stop.is_set():
            return
        # The node must serve the configured chain before this process takes its lease.
        follower.connect()
        if not lease.acquire():
            log.debug("chain %s is ingested by another process", name)
            follower.observe_head()
            return
        stats = follower.poll(stop=self.stop)
        if stats.transfers or stats.reorgs:
            log.info("chain %s: cursor %s, +%s transfers, %s reorg(s)", name, stats.cursor,
                     stats.transfers, stats.reorgs)
            # Screen what just arrived, so an alert follows within one poll.
            self._score("incremental", [follower.chain_id])

    def score(self) -> None:
        self._score("incremental")

    def retrain(self) -> None:
        """Retrains the rankers of tokens whose labels changed (new outcomes), then a full
        run: refits the IsolationForest on the whole current feature matrix and fuses the
        rankers in force."""
        if self.stop.is_set():
            return
        tokens = self._tokens(self._held())
        if tokens:
            jobs.retrain_rankers(self.sessions, self.settings, tokens)
        self._score("full")

    def _held(self) -> list[int]:
        """The chains whose lease this process holds (as of their last ingest tick)."""
        return [self.followers[name].chain_id for name, lease in self.leases.items()
                if lease.held]

    def _tokens(self, chain_ids: Sequence[int]) -> list[int]:
        if not chain_ids:
            return []
        with self.sessions() as session:
            return [t.id for chain_id in chain_ids for t in list_tokens(session, chain_id)]

    def _score(self, kind: str, chain_ids: Sequence[int] | None = None) -> None:
        """Score the tokens of the given chains (default: every chain whose lease this
        process holds), skipping those it does not hold: the process that ingests a chain has
        its scoring state warm, and a standby would only redo the same runs (they take turns
        per token anyway, see scoring.service.run)."""
        if self.stop.is_set():
            return
        held = self._held()
        tokens = self._tokens([c for c in chain_ids if c in held] if chain_ids is not None
                              else held)
        if tokens:
            with self.rules_lock:
                self.rules_seen = jobs.audit_rules_reload(self.sessions, self.settings,
                                                          self.rules_seen)
            jobs.score_and_alert(self.sessions, self.settings, kind, token_ids=tokens,
                                 cache=self.scoring)

    def bridges(self) -> None:
        """Mark bridge transfers whose one side stayed alone too long as unmatched and raise
        their integrity alerts. Any daemon may run it: it only reads what ingest stored,
        and its writes are idempotent."""
        if not self.stop.is_set():
            expire_unmatched(self.sessions, self.settings)

    def notify(self) -> None:
        if not self.stop.is_set() and self.settings.webhook_url:
            jobs.deliver_notifications(self.sessions, self.settings)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        sync_settings(self.sessions, self.settings)
        metrics.initialise([f.chain.label for f in self.followers.values()], list(RULE_IDS))
        with self.sessions() as session:
            rankers.publish(session)
        for follower in self.followers.values():
            BOARD.add(follower)
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop taking work, let the running batches finish (each commits or rolls back)."""
        self.stop.set()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        for name, follower in self.followers.items():
            BOARD.remove(follower)
            self.leases[name].release()
            follower.close()


def _now() -> datetime:
    return datetime.now(UTC)
