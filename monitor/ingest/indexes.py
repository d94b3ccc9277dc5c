"""Deferred upkeep of the secondary indexes of `transfers` during a large backfill (Postgres).

Keeping the tx-hash and (token, address) indexes up to date row by row costs Postgres more
than the rest of a COPY together (`bench/ingest.py`; see bench/README), while building them
once over the whole table is a sort, a fraction of that. So when a backfill is expected to
add at least as many rows as the table holds (and at least `min_rows`), the indexes are
dropped for the rest of it and built again when it ends.

Correctness does not depend on them: the primary key, which every write, the duplicate
check of a replay, reorg deletes and scoring's per-token block ranges use, is never
dropped. Readers meanwhile get the same answers from scans, only slower (reports by
address, evidence by tx hash).

Coordination, across processes: whoever drops them holds a session-level advisory lock
for as long as they are missing on purpose. Every poll checks the indexes; missing ones
whose lock nobody holds were left by a backfill that died (SIGKILL, lost connection: the
lock goes with the session), and that poll builds them again.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Connection, Engine, Index, text
from sqlalchemy.schema import CreateIndex

from models import Base, Transfer

log = logging.getLogger(__name__)

# pg_advisory_lock key: held while the secondary indexes of transfers are deferred.
LOCK_KEY = 0x616D6C6D6F6E_01  # "amlmon", 1
# A backfill waits this long for readers to let go of the table before it drops the
# indexes; if they do not, it keeps the indexes and goes on.
DROP_LOCK_TIMEOUT = "5s"

SECONDARY: tuple[Index, ...] = tuple(sorted(
    Base.metadata.tables[Transfer.__tablename__].indexes, key=lambda i: str(i.name)))


def supported(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def table_rows(engine: Engine) -> int:
    """The planner's estimate of the rows in transfers (all partitions), without a scan.

    Postgres scales the last ANALYZE's density to the table's current size, and estimates
    the density from the row width when the table was never analyzed (as after a first
    backfill), where reltuples alone would say nothing."""
    with engine.connect() as conn:
        # psycopg (monitor.db's driver for Postgres) decodes the json.
        plan = conn.scalar(text("EXPLAIN (FORMAT JSON) SELECT 1 FROM transfers"))
    return int(plan[0]["Plan"]["Plan Rows"])


def missing(conn: Connection) -> list[Index]:
    present = set(conn.scalars(text(
        "SELECT indexname FROM pg_indexes "
        "WHERE schemaname = current_schema() AND tablename = 'transfers'")))
    return [index for index in SECONDARY if index.name not in present]


def restore_missing(engine: Engine) -> list[str]:
    """Build the secondary indexes a dead backfill left missing; the names built.

    Nothing is done while a live backfill holds the lock: it builds them when it ends.
    """
    with engine.connect() as probe:
        if not missing(probe):
            return []
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        if not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}):
            return []
        absent = missing(conn)
        if absent:
            log.warning("transfers lacks %s, left by an interrupted backfill; building it",
                        ", ".join(str(i.name) for i in absent))
            _build(engine, absent)
        return [str(i.name) for i in absent]
    finally:
        _release(conn)


class Deferral:
    """The indexes dropped for a backfill; `finish` builds them and releases the lock."""

    def __init__(self, engine: Engine, conn: Connection) -> None:
        self._engine = engine
        self._conn = conn

    @classmethod
    def start(cls, engine: Engine) -> Deferral | None:
        """Drop the secondary indexes, or None when another backfill already defers them
        or readers hold the table longer than DROP_LOCK_TIMEOUT."""
        names = ", ".join(str(i.name) for i in SECONDARY)
        conn: Connection | None = None
        try:
            conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            if not conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY}):
                _release(conn)
                return None
            conn.execute(text(f"SET lock_timeout = '{DROP_LOCK_TIMEOUT}'"))
            # One statement: either every index goes or none does.
            conn.execute(text(f"DROP INDEX IF EXISTS {names}"))
            conn.execute(text("RESET lock_timeout"))
        except Exception as exc:
            log.warning("keeping the indexes of transfers during this backfill: %s", exc)
            if conn is not None:
                _release(conn)
            return None
        log.info("backfill: secondary indexes of transfers (%s) deferred until it ends", names)
        return cls(engine, conn)

    def finish(self) -> None:
        """Build the indexes again. Never raises: on failure (Postgres gone) the next
        poll finds them missing and builds them (restore_missing)."""
        started = time.perf_counter()
        try:
            _build(self._engine, missing(self._conn))
        except Exception:
            log.exception("building the indexes of transfers failed; the next poll retries")
        else:
            log.info("backfill: indexes of transfers built in %.1f s",
                     time.perf_counter() - started)
        finally:
            _release(self._conn)


def _build(engine: Engine, indexes: list[Index]) -> None:
    """Build the indexes at the same time, one connection each: a hash index is built by
    one process, and Postgres's parallel workers leave cores idle during a B-tree's final
    merge (three at once: 0.5 s instead of 0.75 for 200,000 rows on two cores)."""
    def build(index: Index) -> None:
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(CreateIndex(index, if_not_exists=True))

    with ThreadPoolExecutor(max(len(indexes), 1), thread_name_prefix="index-build") as pool:
        for done in [pool.submit(build, index) for index in indexes]:
            done.result()


def _release(conn: Connection) -> None:
    """Close the lock's connection for good: a session-level advisory lock must not stay
    with a pooled connection, and closing the session is what releases it."""
    try:
        conn.invalidate()
    finally:
        conn.close()
