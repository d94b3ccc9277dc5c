"""Scoring runs: features → rules + IsolationForest → fused risk, persisted per run.

A run scores one token. Address scores are stored as a change log: a run writes a row
for every address whose risk or reasons differ from its current row (the latest one),
including drops to zero, so the current picture is "latest row per address" and a rerun
on unchanged data writes nothing. `incremental` runs are skipped when no transfer was
ingested and no address was marked dirty (e.g. by a reorg) since the last run.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AddressScore, ScoreRun, Token, Transfer
from monitor import metrics, suppressions
from monitor.amounts import exact_sum, total
from monitor.db import SCORING_LOCKS, as_utc, lock_for_transaction
from monitor.scoring import incremental, pattern_store, queue
from monitor.scoring.config import RULE_IDS, RulesConfig
from monitor.scoring.evaluate import Scored, evaluate, listing_index
from monitor.scoring.flows import extend_flows, load_flows
from monitor.scoring.risk import severity
from monitor.watchlist.service import listed_addresses

log = logging.getLogger(__name__)


class ScoringCache:
    """Each token's scoring state kept between runs by a long-lived process (the daemon):
    an incremental run reads only the blocks ingested since the last run and re-scores
    only the addresses they can affect (monitor.scoring.incremental). A full run, or any
    address marked for re-scoring (a reorg deleted rows), starts again from the database."""

    def __init__(self) -> None:
        # token -> (last block read, state, id of the run that built the state)
        self._state: dict[int, tuple[int, Scored, int]] = {}
        self.lock = threading.Lock()  # the daemon's scoring jobs run in parallel threads

    def state(self, token_id: int) -> Scored | None:
        held = self._state.get(token_id)
        return held[1] if held else None

    def score(self, session: Session, token: Token, newest: int | None, config: RulesConfig,
              full: bool, run_id: int) -> tuple[Scored, np.ndarray | None, int]:
        """The token's scored state; the addresses re-scored (None: all of them); the id of
        the run that built the state from the database (`run_id` when this one did)."""
        permissioned = token.standard == "erc3643"
        with self.lock:
            held = None if full else self._state.get(token.id)
            if held is None or newest is None or newest < held[0]:
                scored = evaluate(load_flows(session, token), config, listed_addresses(session),
                                  permissioned)
                region, built_by = None, run_id
            else:
                built_by = held[2]
                scored = held[1]
                try:
                    flows = (extend_flows(session, token, scored.flows, held[0])
                             if newest > held[0] else scored.flows)
                    region = incremental.rescore(
                        scored, flows, config,
                        listing_index(flows, listed_addresses(session)))
                except BaseException:
                    # The state may be half updated: the next run starts from the database.
                    self._state.pop(token.id, None)
                    raise
            # Keyed by the last block actually read: ingest may have committed more blocks
            # between `newest` and the read, and those must not be appended twice.
            last = scored.flows.last_block()
            if last is None:
                self._state.pop(token.id, None)
            else:
                self._state[token.id] = (last, scored, built_by)
            return scored, region, built_by


def run(
    session: Session, token: Token, config: RulesConfig, kind: str = "full",
    cache: ScoringCache | None = None,
) -> ScoreRun | None:
    """Score one token and persist what changed; None when an incremental run has nothing to do.

    Runs of one token take turns, across threads and processes (the daemon's jobs, a
    re-screen after a list upload, `amlmon score`): the caller's transaction holds the
    token's scoring lock until it commits, alerts included, and a run that waited sees
    what the one before it wrote.
    """
    lock_for_transaction(session, SCORING_LOCKS, token.id)
    last = session.scalar(
        select(ScoreRun).where(ScoreRun.token_id == token.id, ScoreRun.status == "done")
        .order_by(ScoreRun.id.desc()).limit(1)
    )
    now = datetime.now(UTC)
    suppressions.queue_expired(session, token.id, now)
    newest = session.scalar(select(func.max(Transfer.block_number))
                            .where(Transfer.token_id == token.id))
    dirty = queue.pending(session, token.id)
    if (kind == "incremental" and last is not None and not dirty
            and (newest or -1) <= (last.up_to_block if last.up_to_block is not None else -1)):
        return None
    started = time.perf_counter()
    score_run = ScoreRun(kind=kind, token_id=token.id, status="running", up_to_block=newest)
    session.add(score_run)
    session.flush()
    if cache is None:
        scored = evaluate(load_flows(session, token), config, listed_addresses(session),
                          permissioned=token.standard == "erc3643")
        region, built_by = None, None
    else:
        scored, region, built_by = cache.score(session, token, newest, config,
                                               full=kind == "full" or bool(dirty),
                                               run_id=score_run.id)
    pattern_ids = pattern_store.sync(session, token, score_run.id, scored,
                                     config.patterns.role_weights)
    suppressed = suppressions.Active(session, token.id, config.weights, now)
    written = _persist(session, token, score_run, scored, config.min_score_change,
                       pattern_ids, region, built_by, suppressed)
    queue.take(session, token.id, dirty)
    score_run.status = "done"
    score_run.finished_at = datetime.now(UTC)
    score_run.addresses_scored = (max(scored.flows.n_addresses - 1, 0) if region is None
                                  else int(region.size))
    active = max(scored.flows.n_addresses - 1, 0)
    flagged = (sum(1 for risk in scored.risk.values() if risk >= config.flag_min_risk)
               - suppressed.unflagged(scored, config.flag_min_risk))
    score_run.model = {**scored.model, "rules": sorted(RULE_IDS), "changed_rows": written,
                       "active_addresses": active, "flagged_addresses": flagged,
                       "patterns": len(scored.patterns)}
    metrics.flagged_share.labels(token.address).set(flagged / active if active else 0.0)
    seconds = time.perf_counter() - started
    metrics.score_run_seconds.observe(seconds)
    metrics.addresses_scored_total.inc(score_run.addresses_scored)
    log.info("scored token %s (%s): %s addresses, %s flagged rows changed in %.2fs",
             token.id, kind, score_run.addresses_scored, written, seconds)
    return score_run


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


def _persist(session: Session, token: Token, score_run: ScoreRun, scored: Scored,
             min_change: float, pattern_ids: dict[str, int], region: np.ndarray | None = None,
             built_by: int | None = None, suppressed: suppressions.Active | None = None) -> int:
    """Write a score row for each address (of `region`, when given) whose finding changed,
    its reasons marked and its risk fused as the suppressions in force (`suppressed`) say.

    Rows written since run `built_by` built the scoring state from the database are
    trusted as the base of an address's exact totals; older ones may predate a reorg (a
    reorg makes the next run rebuild the state), so their addresses are summed afresh."""
    flows = scored.flows
    names = None if region is None else [str(a) for a in flows.addresses[region]]
    current = current_scores(session, token.id, names)
    candidates = scored.risk.items() if region is None else (
        (int(a), scored.risk[int(a)]) for a in region if int(a) in scored.risk)
    changed: dict[str, tuple[int, list[dict[str, Any]], int]] = {}
    for address, risk in candidates:
        name = str(flows.addresses[address])
        reasons = [r.as_dict(pattern_ids) for r in scored.reasons[address]]
        if suppressed is not None:
            risk, reasons = suppressed.apply(name, risk, reasons)
        before = current.get(name)
        if (before is None or suppressions.marks_changed(before.reasons, reasons)
                or _material(before, risk, reasons, min_change)):
            changed[name] = (risk, reasons, address)
    position = ({a: i for i, a in enumerate(flows.addresses)} if region is None
                else dict(zip(names or [], region.tolist(), strict=True)))
    for name, before in current.items():
        # A row of suppressed reasons only has risk 0 but still shows them.
        if name not in changed and (before.risk_score > 0 or before.reasons):
            index = position.get(name)
            if index is None or index not in scored.risk:
                changed[name] = (0, [], index if index is not None else -1)
    if not changed:
        return 0
    trusted = {name: row for name, row in current.items()
               if built_by is not None and row.score_run_id >= built_by}
    totals = _exact_totals(session, token.chain_id, token.id, list(changed),
                           score_run.up_to_block, trusted)
    for name, (risk, reasons, index) in changed.items():
        stats = totals.get(name, {})
        anomaly_score = (float(scored.anomaly_scores[index])
                         if index > 0 and not np.isnan(scored.anomaly_scores[index]) else None)
        session.add(AddressScore(
            score_run_id=score_run.id, token_id=token.id, address=name, risk_score=risk,
            severity=severity(risk), anomaly_score=anomaly_score,
            reasons=reasons,
            features=_feature_row(scored, index),
            first_seen=stats.get("first_seen"), last_seen=stats.get("last_seen"),
            in_count=stats.get("in_count", 0), out_count=stats.get("out_count", 0),
            in_value=stats.get("in_value", 0), out_value=stats.get("out_value", 0),
        ))
    session.flush()
    return len(changed)


def _material(before: AddressScore, risk: int, reasons: list[dict[str, Any]],
              min_change: float) -> bool:
    """Whether a new score differs from the stored one enough to be a new finding."""
    if before.reasons == reasons and before.risk_score == risk:
        return False
    if min_change <= 0:
        return True
    if severity(risk) != before.severity or abs(risk - before.risk_score) >= min_change:
        return True
    old = {r["rule"]: r for r in before.reasons}
    new = {r["rule"]: r for r in reasons}
    if old.keys() != new.keys():
        return True
    for rule, reason in new.items():
        if abs(reason["score"] - old[rule]["score"]) >= min_change:
            return True
        if not set(reason["evidence"]) <= set(old[rule]["evidence"]):
            return True
    return False


def _feature_row(scored: Scored, index: int) -> dict[str, float]:
    if index <= 0:
        return {}
    values = scored.features.matrix[index]
    return {name: round(float(v), 6) for name, v in zip(scored.features.names, values,
                                                         strict=True)}


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
            if row is None or block is None or block > up_to or row.first_seen is None:
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


def _add_totals(session: Session, chain_id: int, token_id: int, addresses: list[str],
                after: int, up_to: int | None, totals: dict[str, dict[str, Any]]) -> None:
    for side, column in (("out", Transfer.from_address), ("in", Transfer.to_address)):
        for start in range(0, len(addresses), 500):
            chunk = addresses[start:start + 500]
            # (token, address) indexes serve a whole history; the primary key, which
            # leads with (token, block), serves "since block `after`". The planner is
            # told which by what it cannot use: `block + 0` is no index column, nor is
            # `address || ''`. Left to itself on a table without statistics yet (right
            # after a backfill) it read a million-row token through the primary key to
            # sum two addresses' dozen transfers (0.4 s a query).
            if after < 0:
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
                entry = totals[address]
                entry[f"{side}_count"] += int(count)
                entry[f"{side}_value"] += total(amount)
                first, last = as_utc(first), as_utc(last)
                entry["first_seen"] = min(entry.get("first_seen", first), first)
                entry["last_seen"] = max(entry.get("last_seen", last), last)
