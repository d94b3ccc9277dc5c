"""The long-lived monitor: scheduled ingest, scoring, retraining and notification jobs.

APScheduler runs each job on its own interval, one instance at a time, coalescing missed
runs. A job that raises is logged, counted and simply runs again on its next tick: one
bad block, an RPC outage or a database restart never stops the daemon (the engine's
pool pre-ping reconnects). New transfers are scored incrementally in the same tick that
ingested them, so an alert follows within one poll.

Several daemons may share one Postgres: each chain's ingest is held by one process at a
time through a session-level advisory lock on a dedicated connection. If the holder dies,
its connection closes, the lock is released, and another daemon takes over on its next
tick. (SQLite is single-process and needs no lock.)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.background import BackgroundScheduler
from prometheus_client import Counter
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker

from monitor import db, jobs, metrics
from monitor.chain.rpc import RpcClient
from monitor.ingest.poller import IngestOptions, Poller
from monitor.ranker import store as rankers
from monitor.scoring import rules_file
from monitor.scoring.config import RULE_IDS
from monitor.scoring.service import ScoringCache
from monitor.settings import Settings
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
                self._conn.close()
            finally:
                self._conn = None


class Daemon:
    def __init__(self, settings: Settings, engine: Engine, sessions: sessionmaker[Session],
                 client: RpcClient, chain_id: int) -> None:
        self.settings = settings
        self.sessions = sessions
        self.stop = threading.Event()
        self.client = client
        self.chain_id = chain_id
        self.lease = ChainLease(engine, chain_id)
        self.scoring = ScoringCache()  # incremental runs re-score only what new blocks touch
        # The rules file as the last score tick read it: a change is audited (config.reload).
        self.rules_seen = rules_file.state(settings)
        self.rules_lock = threading.Lock()  # ingest, score and retrain ticks run in parallel
        self.poller = Poller(client, sessions, chain_id, IngestOptions(
            confirmations=settings.confirmations, reorg_window=settings.reorg_window_blocks,
            initial_range=settings.getlogs_initial_range, max_range=settings.getlogs_max_range,
        ))
        self.scheduler = BackgroundScheduler(
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        self.scheduler.add_listener(self._on_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        self._add("ingest", self.ingest, settings.poll_interval_seconds)
        self._add("score", self.score, settings.score_interval_seconds)
        self._add("retrain", self.retrain, settings.retrain_interval_seconds)
        self._add("notify", self.notify, settings.notify_interval_seconds)

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

    def ingest(self) -> None:
        if self.stop.is_set():
            return
        if not self.lease.acquire():
            log.debug("chain %s is ingested by another process", self.chain_id)
            return
        stats = self.poller.catch_up(stop=self.stop)
        if stats.transfers or stats.reorgs:
            log.info("chain %s: cursor %s, +%s transfers, %s reorg(s)", self.chain_id,
                     stats.cursor, stats.transfers, stats.reorgs)
            # Screen what just arrived, so an alert follows within one poll.
            self._score("incremental")

    def score(self) -> None:
        self._score("incremental")

    def retrain(self) -> None:
        """Retrains the rankers of tokens whose labels changed (new outcomes), then a full
        run: refits the IsolationForest on the whole current feature matrix and fuses the
        rankers in force."""
        if self.stop.is_set() or not self.lease.held:
            return
        with self.sessions() as session:
            tokens = [t.id for t in list_tokens(session, self.chain_id)]
        if tokens:
            jobs.retrain_rankers(self.sessions, self.settings, tokens)
        self._score("full")

    def _score(self, kind: str) -> None:
        """Score the tokens of this process's chain, if it holds the chain's lease: the
        process that ingests a chain has its scoring state warm, and a standby would only
        redo the same runs (they take turns per token anyway, see scoring.service.run)."""
        if self.stop.is_set() or not self.lease.held:
            return
        with self.sessions() as session:
            tokens = [t.id for t in list_tokens(session, self.chain_id)]
        if tokens:
            with self.rules_lock:
                self.rules_seen = jobs.audit_rules_reload(self.sessions, self.settings,
                                                          self.rules_seen)
            jobs.score_and_alert(self.sessions, self.settings, kind, token_ids=tokens,
                                 cache=self.scoring)

    def notify(self) -> None:
        if not self.stop.is_set() and self.settings.webhook_url:
            jobs.deliver_notifications(self.sessions, self.settings)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        metrics.initialise(str(self.chain_id), list(RULE_IDS))
        with self.sessions() as session:
            rankers.publish(session)
        self.scheduler.start()

    def shutdown(self) -> None:
        """Stop taking work, let the running batch finish (it commits or rolls back)."""
        self.stop.set()
        self.scheduler.shutdown(wait=True)
        self.lease.release()


def _now() -> datetime:
    return datetime.now(UTC)
