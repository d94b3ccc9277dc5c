"""Score rows: the current score of each address, and the one writer of score rows.

Address scores are a change log: an address's current score is its latest row (the
highest run id). Rows are written here only: by scoring runs, for the addresses whose
finding changed (`write`), and by a change made outside a run, such as a suppression
re-marking reasons (`amend`). Functions never commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement

from models import AddressScore, ScoreRun, Token, Transfer
from monitor.amounts import exact_sum, total
from monitor.db import as_utc
from monitor.scoring.risk import severity

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


def current_scores(session: Session, token_id: int,
                   addresses: list[str] | None = None) -> dict[str, AddressScore]:
    """The latest score row of every address of a token (or of `addresses` only)."""
    if addresses is not None:
        found: dict[str, AddressScore] = {}
        for start in range(0, len(addresses), 1000):
            found.update(_latest(session, token_id, addresses[start:start + 1000]))
        return found
    return _latest(session, token_id, None)


def _latest(session: Session, token_id: int, addresses: list[str] | None,
            ) -> dict[str, AddressScore]:
    where = [AddressScore.token_id == token_id]
    if addresses is not None:
        where.append(AddressScore.address.in_(addresses))
    latest = (
        select(AddressScore.address, func.max(AddressScore.score_run_id).label("run"))
        .where(*where).group_by(AddressScore.address).subquery()
    )
    rows = session.scalars(
        select(AddressScore).join(
            latest, (AddressScore.address == latest.c.address)
            & (AddressScore.score_run_id == latest.c.run),
        ).where(AddressScore.token_id == token_id)
    )
    return {row.address: row for row in rows}


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


def write(session: Session, token: Token, run: ScoreRun, rows: list[NewRow],
          trusted: dict[str, AddressScore]) -> None:
    """Write the rows of a scoring run, each with the address's exact totals up to the
    run's block. `trusted`: current rows whose totals may be the base of the new ones
    (see _exact_totals)."""
    totals = _exact_totals(session, token.chain_id, token.id, [row.address for row in rows],
                           run.up_to_block, trusted)
    session.flush()  # what the session holds goes first, as it would with session.add
    values = []
    for row in rows:
        stats = totals.get(row.address, {})
        values.append({
            "score_run_id": run.id, "token_id": token.id, "address": row.address,
            "risk_score": row.risk, "severity": severity(row.risk),
            "anomaly_score": row.anomaly_score, "reasons": row.reasons,
            "features": row.features, "first_seen": stats.get("first_seen"),
            "last_seen": stats.get("last_seen"), "in_count": stats.get("in_count", 0),
            "out_count": stats.get("out_count", 0), "in_value": stats.get("in_value", 0),
            "out_value": stats.get("out_value", 0)})
    if values:  # one executemany: a first run writes a row for every address
        session.execute(insert(AddressScore), values)


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
    previous: dict[str, AddressScore] | None = None,
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
        _add_totals(session, chain_id, token_id, group, after, up_to, totals)
    return totals


# Above this many addresses summed over their whole history, one pass over the token's
# transfers (a hash aggregate) beats an index lookup per address: a first run of a big
# token writes a row for every address.
WHOLE_TOKEN = 5_000


def _add_totals(session: Session, chain_id: int, token_id: int, addresses: list[str],
                after: int, up_to: int | None, totals: dict[str, dict[str, Any]]) -> None:
    whole = after < 0 and len(addresses) > WHOLE_TOKEN
    for side, column in (("out", Transfer.from_address), ("in", Transfer.to_address)):
        for start in range(0, len(addresses), len(addresses) if whole else 500):
            chunk = addresses[start:start + 500]
            # (token, address) indexes serve a whole history; the primary key, which
            # leads with (token, block), serves "since block `after`". The planner is
            # told which by what it cannot use: `block + 0` is no index column, nor is
            # `address || ''`. Left to itself on a table without statistics yet (right
            # after a backfill) it read a million-row token through the primary key to
            # sum two addresses' dozen transfers (0.4 s a query).
            where: list[ColumnElement[bool]]
            if whole:
                where = [] if up_to is None else [Transfer.block_number <= up_to]
            elif after < 0:
                where = [column.in_(chunk)]
                if up_to is not None:
                    where.append(Transfer.block_number + 0 <= up_to)
            else:
                where = [(column + "").in_(chunk), Transfer.block_number > after]
                if up_to is not None:
                    where.append(Transfer.block_number <= up_to)
            where += [Transfer.chain_id == chain_id, Transfer.token_id == token_id]
            rows = session.execute(
                select(column, func.count(), exact_sum(session, Transfer.amount),
                       func.min(Transfer.block_time), func.max(Transfer.block_time))
                .where(*where).group_by(column))
            for address, count, amount, first, last in rows:
                entry = totals.get(address)
                if entry is None:  # summed by the whole-token pass, but not written
                    continue
                entry[f"{side}_count"] += int(count)
                entry[f"{side}_value"] += total(amount)
                first, last = as_utc(first), as_utc(last)
                entry["first_seen"] = min(entry.get("first_seen", first), first)
                entry["last_seen"] = max(entry.get("last_seen", last), last)
