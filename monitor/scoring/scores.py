"""Score rows: the current score of each address, and the one writer of score rows.

Address scores are a change log: an address's current score is its latest row (the
highest run id). Rows are written here only: by scoring runs, for the addresses whose
finding changed (`write`), and by a change made outside a run, such as a suppression
re-marking reasons (`amend`). Functions never commit.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from models import AddressScore, ScoreRun, Token, Transfer
from monitor.amounts import exact_sum, total
from monitor.db import as_utc, insert_rows
from monitor.scoring.risk import severity

log = logging.getLogger(__name__)

# The status of the stand-in run an amended row is written under. Not "done": what reads
# "the token's last run" must not take it for one.
AMENDED = "applied"


@dataclass(frozen=True)
class NewRow:
    """What a scoring run found for one address, to be written as its new current row."""

    address: str
    risk: int
    reasons: list[dict[str, Any]]  # as stored (Reason.as_dict, suppression marks)
    anomaly_score: float | None
    features: dict[str, float]


def current_scores(session: Session, token_id: int, addresses: list[str] | None = None,
                   min_risk: float | None = None,
                   within: tuple[str | None, str | None] = (None, None),
                   ) -> dict[str, AddressScore]:
    """The latest score row of every address of a token (or of `addresses` only); with
    `min_risk`, only those whose latest row has at least that risk (a big token's alerts
    and flagged counts read its few hundred flagged rows, not its 10^5-10^6 addresses);
    `within`: only addresses from the first (inclusive) to the second (exclusive) in byte
    order, None for no bound (a full run compares a range of addresses at a time)."""
    if addresses is not None:
        found: dict[str, AddressScore] = {}
        for start in range(0, len(addresses), 1000):
            found.update(_latest(session, token_id, addresses[start:start + 1000], min_risk,
                                 within))
        return found
    return _latest(session, token_id, None, min_risk, within)


def _latest(session: Session, token_id: int, addresses: list[str] | None,
            min_risk: float | None, within: tuple[str | None, str | None],
            ) -> dict[str, AddressScore]:
    where = [AddressScore.token_id == token_id]
    if addresses is not None:
        where.append(AddressScore.address.in_(addresses))
    # Byte order, as the caller sorts its ranges (a no-op on a database in the C locale,
    # where the index serves it).
    address = (AddressScore.address.collate("C")
               if session.get_bind().dialect.name == "postgresql" else AddressScore.address)
    if within[0] is not None:
        where.append(address >= within[0])
    if within[1] is not None:
        where.append(address < within[1])
    latest = (
        select(AddressScore.address, func.max(AddressScore.score_run_id).label("run"))
        .where(*where).group_by(AddressScore.address).subquery()
    )
    query = select(AddressScore).join(
        latest, (AddressScore.address == latest.c.address)
        & (AddressScore.score_run_id == latest.c.run),
    ).where(AddressScore.token_id == token_id)
    if min_risk is not None:
        query = query.where(AddressScore.risk_score >= min_risk)
    return {row.address: row for row in session.scalars(query)}


def current_score(session: Session, token_id: int, address: str) -> AddressScore | None:
    """The latest score row of one address: what current_scores(...)[address] would be,
    without reading every address of the token."""
    return session.scalar(
        select(AddressScore).where(AddressScore.token_id == token_id,
                                   AddressScore.address == address)
        .order_by(AddressScore.score_run_id.desc()).limit(1))


def rows_of(session: Session, address: str,
            token_id: int | None) -> list[tuple[int, AddressScore]]:
    """(token id, current row) of the address on `token_id`, or on every token it has one."""
    token_ids = [token_id] if token_id is not None else sorted(session.scalars(
        select(AddressScore.token_id).distinct().where(AddressScore.address == address)))
    rows = [(t, current_score(session, t, address)) for t in token_ids]
    return [(t, row) for t, row in rows if row is not None]


def write(session: Session, token: Token, run: ScoreRun, addresses: list[str],
          rows: Iterable[NewRow], trusted: dict[str, AddressScore],
          whole: WholeTotals | None = None) -> None:
    """Write the rows of a scoring run, each with the address's exact totals up to the
    run's block. `addresses`: the rows' addresses, whose totals are summed first, so that
    `rows` may be a generator and a first run's 10^5-10^6 rows (each with its features)
    are made one at a time as they are written. `trusted`: current rows whose totals may
    be the base of the new ones (see _exact_totals). `whole`: the token's totals, summed
    while the run evaluated."""
    totals = _exact_totals(session, token.chain_id, token.id, addresses, run.up_to_block,
                           trusted, whole)
    insert_rows(session, AddressScore, (_values(run, token, row, totals) for row in rows))


def _values(run: ScoreRun, token: Token, row: NewRow,
            totals: dict[str, dict[str, Any]]) -> dict[str, Any]:
    stats = totals[row.address]
    return {"score_run_id": run.id, "token_id": token.id, "address": row.address,
            "risk_score": row.risk, "severity": severity(row.risk),
            "anomaly_score": row.anomaly_score, "reasons": row.reasons,
            "features": row.features, "first_seen": stats.get("first_seen"),
            "last_seen": stats.get("last_seen"), "in_count": stats["in_count"],
            "out_count": stats["out_count"], "in_value": stats["in_value"],
            "out_value": stats["out_value"]}


def amend(session: Session, row: AddressScore, risk: int, reasons: list[dict[str, Any]],
          cause: str, model: dict[str, Any], now: datetime) -> None:
    """A new current row for `row`'s address with only its risk and reasons changed,
    written outside a scoring run (a suppression re-marking reasons), under a stand-in run
    of kind `cause` whose `model` says why. The stand-in has no block: a later run sums
    the row's totals afresh rather than from a block they were not counted up to."""
    run = ScoreRun(kind=cause, token_id=row.token_id, status=AMENDED, started_at=now,
                   finished_at=now, addresses_scored=1, up_to_block=None, model=model)
    session.add(run)
    session.flush()
    session.add(AddressScore(
        score_run_id=run.id, token_id=row.token_id, address=row.address, risk_score=risk,
        severity=severity(risk), anomaly_score=row.anomaly_score, reasons=reasons,
        features=row.features, first_seen=row.first_seen, last_seen=row.last_seen,
        in_count=row.in_count, out_count=row.out_count, in_value=row.in_value,
        out_value=row.out_value, computed_at=now))
    session.flush()


def _exact_totals(
    session: Session, chain_id: int, token_id: int, addresses: list[str], up_to: int | None,
    previous: dict[str, AddressScore] | None = None, whole: WholeTotals | None = None,
) -> dict[str, dict[str, Any]]:
    """Exact uint256 in/out sums and first/last seen of the addresses being written, over
    the transfers up to block `up_to` (what the run scored).

    An address whose `previous` row was written by a run up to an earlier block gets that
    row's totals plus the transfers since: a busy wallet's whole history is summed once,
    not on every incremental run.
    """
    totals: dict[str, dict[str, Any]] = {
        a: {"in_count": 0, "out_count": 0, "in_value": 0, "out_value": 0} for a in addresses
    }
    since: dict[int, list[str]] = {-1: []}
    if previous and up_to is not None:
        blocks = dict(session.execute(select(ScoreRun.id, ScoreRun.up_to_block).where(
            ScoreRun.id.in_({row.score_run_id for row in previous.values()}))).all())
        for address in addresses:
            row = previous.get(address)
            block = blocks.get(row.score_run_id) if row is not None else None
            if (row is None or block is None or block > up_to or row.first_seen is None
                    or row.last_seen is None):
                since[-1].append(address)
                continue
            totals[address] = {
                "in_count": row.in_count, "out_count": row.out_count,
                "in_value": int(row.in_value), "out_value": int(row.out_value),
                "first_seen": as_utc(row.first_seen), "last_seen": as_utc(row.last_seen)}
            since.setdefault(block, []).append(address)
    else:
        since[-1] = list(addresses)
    for after, group in since.items():
        _add_totals(session, chain_id, token_id, group, after, up_to, totals, whole)
    return totals


# Above this many addresses summed over their whole history, one pass over the token's
# transfers (a hash aggregate) beats an index lookup per address: a first run of a big
# token writes a row for every address.
WHOLE_TOKEN = 5_000


def _add_totals(session: Session, chain_id: int, token_id: int, addresses: list[str],
                after: int, up_to: int | None, totals: dict[str, dict[str, Any]],
                summed: WholeTotals | None = None) -> None:
    whole = after < 0 and len(addresses) > WHOLE_TOKEN
    for side, column in (("out", Transfer.from_address), ("in", Transfer.to_address)):
        if whole:
            rows = (summed.rows(side, up_to) if summed is not None else None) or \
                session.execute(_whole_token(column, chain_id, token_id, up_to,
                                             exact_sum(session, Transfer.amount))).all()
            _fold(rows, side, totals)
            continue
        for start in range(0, len(addresses), 500):
            chunk = addresses[start:start + 500]
            # (token, address) indexes serve a whole history; the primary key, which
            # leads with (token, block), serves "since block `after`". The planner is
            # told which by what it cannot use: `block + 0` is no index column, nor is
            # `address || ''`. Left to itself on a table without statistics yet (right
            # after a backfill) it read a million-row token through the primary key to
            # sum two addresses' dozen transfers (0.4 s a query).
            where: list[ColumnElement[bool]]
            if after < 0:
                where = [column.in_(chunk)]
                if up_to is not None:
                    where.append(Transfer.block_number + 0 <= up_to)
            else:
                where = [(column + "").in_(chunk), Transfer.block_number > after]
                if up_to is not None:
                    where.append(Transfer.block_number <= up_to)
            where += [Transfer.chain_id == chain_id, Transfer.token_id == token_id]
            _fold(session.execute(
                select(column, func.count(), exact_sum(session, Transfer.amount),
                       func.min(Transfer.block_time), func.max(Transfer.block_time))
                .where(*where).group_by(column)), side, totals)


def _whole_token(column: Any, chain_id: int, token_id: int, up_to: int | None,
                 amount: Any) -> Any:
    """Every address's count, exact sum (`amount`, an exact_sum aggregate) and first and
    last time on one side, as one hash aggregate over the token."""
    where = [Transfer.chain_id == chain_id, Transfer.token_id == token_id]
    if up_to is not None:
        where.append(Transfer.block_number <= up_to)
    return (select(column, func.count(), amount,
                   func.min(Transfer.block_time), func.max(Transfer.block_time))
            .where(*where).group_by(column))


def _fold(rows: Iterable[Any], side: str, totals: dict[str, dict[str, Any]]) -> None:
    for address, count, amount, first, last in rows:
        entry = totals.get(address)
        if entry is None:  # summed by the whole-token pass, but not written
            continue
        entry[f"{side}_count"] += int(count)
        entry[f"{side}_value"] += total(amount)
        first, last = as_utc(first), as_utc(last)
        entry["first_seen"] = min(entry.get("first_seen", first), first)
        entry["last_seen"] = max(entry.get("last_seen", last), last)


class WholeTotals:
    """A token's whole-token totals up to a block, summed by Postgres on a connection of
    its own while a first run evaluates (the run then writes a row for every address).

    At 10^7 transfers the two hash aggregates take about a fifth of a first run, and the
    evaluation keeps one core busy, so they overlap on the other; they start when `go` is
    called (once the history is read: reading it keeps Postgres busy too). The connection
    reads the run's own snapshot (pg_export_snapshot), so it sums what the run sees. A
    failure here only costs the overlap: the write sums in its own transaction instead."""

    def __init__(self, session: Session, chain_id: int, token_id: int, up_to: int | None):
        self.up_to = up_to
        self._rows: dict[str, list[Any]] = {}
        self._go = threading.Event()
        self._closed = False
        snapshot = str(session.scalar(select(func.pg_export_snapshot())))
        if not re.fullmatch(r"[0-9A-Fa-f-]+", snapshot):
            raise ValueError(f"unexpected snapshot id {snapshot!r}")
        self._thread = threading.Thread(
            target=self._sum, args=(session.get_bind(), snapshot, chain_id, token_id),
            name="whole-token-totals", daemon=True)
        self._thread.start()

    def _sum(self, engine: Any, snapshot: str, chain_id: int, token_id: int) -> None:
        try:
            with engine.connect().execution_options(
                    isolation_level="REPEATABLE READ") as connection:
                connection.exec_driver_sql(f"SET TRANSACTION SNAPSHOT '{snapshot}'")
                self._go.wait()
                if self._closed:
                    return
                for side, column in (("out", Transfer.from_address),
                                     ("in", Transfer.to_address)):
                    self._rows[side] = connection.execute(_whole_token(  # Postgres: exact
                        column, chain_id, token_id, self.up_to, func.sum(Transfer.amount))).all()
        except Exception:  # the write sums in its own transaction instead
            log.warning("summing the token's totals beside the run failed", exc_info=True)
            self._rows.clear()

    def go(self) -> None:
        """Start summing (the run has read the history)."""
        self._go.set()

    def close(self) -> None:
        """Let the connection go; sums not yet started are not made."""
        self._closed = True
        self._go.set()

    def rows(self, side: str, up_to: int | None) -> list[Any] | None:
        """The summed rows of `side` ("in" or "out"), once done; None if they were summed
        up to another block or failed."""
        self._go.set()
        self._thread.join()
        return self._rows.get(side) if up_to == self.up_to else None
