"""Scoring runs: features → rules + IsolationForest → fused risk, persisted per run.

A run scores one token. Address scores are stored as a change log (monitor.scoring.scores):
a run writes a row for every address whose risk or reasons differ materially from its
current row, including drops to zero, so a rerun on unchanged data writes nothing.
`incremental` runs are skipped when no transfer was ingested and nothing was queued for
re-scoring (monitor.scoring.queue: a reorg, a list change, a suppression ending) since the
last run.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AddressScore, ScoreRun, Token, Transfer
from monitor import metrics
from monitor.addresses import ZERO
from monitor.db import SCORING_LOCKS, as_utc, lock_for_transaction
from monitor.labels import store as labels
from monitor.ranker import store as rankers
from monitor.ranker.model import Learned
from monitor.scoring import (
    bridges,
    evidence,
    incremental,
    learned,
    pattern_store,
    queue,
    scores,
    suppressions,
)
from monitor.scoring.config import RULE_IDS, RulesConfig
from monitor.scoring.evaluate import Scored, evaluate, listing_index
from monitor.scoring.flows import Flows, extend_flows, load_flows
from monitor.scoring.risk import severity
from monitor.watchlist.service import Listing, listed_addresses, lists_version

log = logging.getLogger(__name__)


class ScoringCache:
    """Each token's scoring state kept between runs by a long-lived process (the daemon):
    an incremental run reads only the blocks ingested since the last run and re-scores
    only the addresses they can affect (monitor.scoring.incremental). A full run, or any
    address marked for re-scoring (a reorg deleted rows), starts again from the database."""

    def __init__(self) -> None:
        # token -> (last block read, state, id of the run that built the state)
        self._state: dict[int, tuple[int, Scored, int]] = {}
        # The listed addresses as last read, and the lists' version then (lists_version).
        self._listed: tuple[tuple[Any, ...], dict[str, list[Listing]]] | None = None
        self.lock = threading.Lock()  # the daemon's scoring jobs run in parallel threads

    def listed(self, session: Session) -> dict[str, list[Listing]]:
        """Every listed address's entries (listed_addresses), read again only when a list
        changed: a block of a token costs its own rows, not the lists' 10^4 entries."""
        version = lists_version(session)
        if self._listed is None or self._listed[0] != version:
            self._listed = (version, listed_addresses(session))
        return self._listed[1]

    def state(self, token_id: int) -> Scored | None:
        held = self._state.get(token_id)
        return held[1] if held else None

    def score(self, session: Session, token: Token, newest: int | None, config: RulesConfig,
              full: bool, run_id: int, ranked: Learned | None = None,
              bridged: Iterable[str] = (), bridged_since: datetime | None = None,
              snapshots: Path | None = None, loaded: Callable[[], None] | None = None,
              ) -> tuple[Scored, np.ndarray | None, int]:
        """The token's scored state; the addresses re-scored (None: all of them); the id of
        the run that built the state from the database (`run_id` when this one did).
        `ranked`: the ranker in force and its labels (a change re-ranks every address).
        `bridged`: addresses queued because a bridge transfer of theirs was linked or
        unlinked (queue.mark_bridge_link) since `bridged_since`, whose rows the held state
        rewrites. `loaded`: called once a full evaluation has read the history."""
        permissioned = token.standard == "erc3643"
        with self.lock:
            held = None if full else self._state.get(token.id)
            if held is None or newest is None or newest < held[0]:
                flows = load(session, token, config, snapshots)
                if loaded is not None:
                    loaded()
                scored = learned.with_ranker(
                    evaluate(flows, config, self.listed(session), permissioned), ranked,
                    config)
                incremental.prepare(scored, config)  # kept for the blocks to come
                region, built_by = None, run_id
            else:
                built_by = held[2]
                scored = held[1]
                scored.learned = ranked  # rescore ranks the token again with it
                try:
                    old_n = scored.flows.n
                    flows = (extend_flows(session, token, scored.flows, held[0])
                             if newest > held[0] else scored.flows)
                    # Links made or undone since the rows were read, and the new rows'
                    # own: only these addresses' bridge transfers are read.
                    plan = bridges.refresh(session, flows, bridged, old_n,
                                           config.rules.chain_hopping, bridged_since)
                    # Another token's view of a leg whose recipient acted here is stale.
                    queue.mark(session, plan.stale, queue.BRIDGE_LINK)
                    region = incremental.rescore(
                        scored, flows, config,
                        listing_index(flows, self.listed(session)), plan)
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


def load(session: Session, token: Token, config: RulesConfig,
         snapshots: Path | None = None) -> Flows:
    """The token's flows from the database (and its snapshot in `snapshots`, if any), its
    linked bridge transfers' burn and mint rows as edges across chains
    (monitor.scoring.bridges)."""
    legs = bridges.token_legs(session, token.id, config.rules.chain_hopping)
    return load_flows(session, token, legs, snapshots)


def run(
    session: Session, token: Token, config: RulesConfig, kind: str = "full",
    cache: ScoringCache | None = None, snapshots: Path | None = None,
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
    queued = queue.pending_reasons(session, token.id)
    dirty = list(queued)
    # Pairs queued by bridge linking alone are re-read by a held state; anything else
    # (a reorg, a list change, a suppression ending) starts again from the database.
    bridged = [a for a, why in queued.items() if why == queue.BRIDGE_LINK and a != ZERO]
    rebuild = any(why != queue.BRIDGE_LINK for why in queued.values())
    # What linking changed is read from the first such mark on (a minute's leeway for the
    # clocks of the processes that stamp `updated_at` and `marked_at`).
    since = queue.pending_since(session, token.id, queue.BRIDGE_LINK) if bridged else None
    if since is not None:
        since = as_utc(since) - timedelta(minutes=1)
    ranked = ranked_by(session, token)
    if (kind == "incremental" and last is not None and not dirty
            and (newest or -1) <= (last.up_to_block if last.up_to_block is not None else -1)
            and (last.model or {}).get("ranker") == _ranker_note(ranked)):
        return None
    started = time.perf_counter()
    score_run = ScoreRun(kind=kind, token_id=token.id, status="running", up_to_block=newest)
    session.add(score_run)
    session.flush()
    whole = None
    if (session.get_bind().dialect.name == "postgresql" and (kind == "full" or rebuild)
            and session.scalar(select(AddressScore.id)
                               .where(AddressScore.token_id == token.id).limit(1)) is None):
        # A first run writes every address's totals: Postgres sums them meanwhile.
        whole = scores.WholeTotals(session, token.chain_id, token.id, newest)
    loaded = whole.go if whole is not None else None
    try:
        if cache is None:
            flows = load(session, token, config, snapshots)
            if loaded is not None:
                loaded()
            scored = learned.with_ranker(
                evaluate(flows, config, listed_addresses(session),
                         permissioned=token.standard == "erc3643"), ranked, config)
            region, built_by = None, None
        else:
            scored, region, built_by = cache.score(session, token, newest, config,
                                                   full=kind == "full" or rebuild,
                                                   run_id=score_run.id, ranked=ranked,
                                                   bridged=bridged, bridged_since=since,
                                                   snapshots=snapshots, loaded=loaded)
        # The ranker re-ranks every address, so its reasons may name new transfers anywhere.
        evidence.resolve(scored, None if region is None or ranked is not None else region)
        pattern_ids = pattern_store.sync(session, token, score_run.id, scored,
                                         config.patterns.role_weights)
        suppressed = suppressions.Active(session, token.id, config.weights, now)
        written = _persist(session, token, score_run, scored, config.min_score_change,
                           pattern_ids, region, built_by, suppressed, whole)
    finally:
        if whole is not None:
            whole.close()  # a failed run's summing is not waited for
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
                       "patterns": len(scored.patterns), "ranker": _ranker_note(ranked)}
    metrics.flagged_share.labels(token.address).set(flagged / active if active else 0.0)
    seconds = time.perf_counter() - started
    metrics.score_run_seconds.observe(seconds)
    metrics.addresses_scored_total.inc(score_run.addresses_scored)
    log.info("scored token %s (%s): %s addresses, %s flagged rows changed in %.2fs",
             token.id, kind, score_run.addresses_scored, written, seconds)
    return score_run


def ranked_by(session: Session, token: Token) -> Learned | None:
    """The token's ranker in force with the labels it reads (None: no ranker)."""
    ranker = rankers.current(session, token.id)
    if ranker is None:
        return None
    verdicts = labels.verdicts(session, token.chain_id)
    return Learned(ranker, {a: v.weight if v.laundering else -v.weight
                            for a, v in verdicts.items()})


def _ranker_note(ranked: Learned | None) -> dict[str, Any] | None:
    """What a run records of the ranker it fused: its version and the labels it read."""
    if ranked is None:
        return None
    return {"version": ranked.ranker.version, "labels": len(ranked.known),
            "labels_digest": hashlib.sha256(repr(sorted(ranked.known.items())).encode())
            .hexdigest()}


def _persist(session: Session, token: Token, score_run: ScoreRun, scored: Scored,
             min_change: float, pattern_ids: dict[str, int], region: np.ndarray | None = None,
             built_by: int | None = None, suppressed: suppressions.Active | None = None,
             whole: scores.WholeTotals | None = None) -> int:
    """Write a score row for each address (of `region`, when given) whose finding changed,
    its reasons marked and its risk fused as the suppressions in force (`suppressed`) say;
    how many.

    Rows written since run `built_by` built the scoring state from the database are
    trusted as the base of an address's exact totals; older ones may predate a reorg (a
    reorg makes the next run rebuild the state), so their addresses are summed afresh."""
    flows = scored.flows
    changed: dict[str, tuple[int, list[dict[str, Any]], int]] = {}
    trusted: dict[str, AddressScore] = {}
    if region is None:
        # A range of addresses at a time: a big token's stored rows, with their reasons
        # and features, never sit in memory all at once.
        ordered = np.argsort(flows.addresses.astype("S42"), kind="stable")  # byte order
        for start in range(0, ordered.size, COMPARED):
            part = ordered[start:start + COMPARED]
            high = (str(flows.addresses[ordered[start + COMPARED]])
                    if start + COMPARED < ordered.size else None)
            current = scores.current_scores(session, token.id, within=(
                None if start == 0 else str(flows.addresses[part[0]]), high))
            _compare(scored, part, current, pattern_ids, suppressed, min_change, built_by,
                     changed, trusted)
    else:
        names = [str(a) for a in flows.addresses[region]]
        _compare(scored, region, scores.current_scores(session, token.id, names),
                 pattern_ids, suppressed, min_change, built_by, changed, trusted)
    if not changed:
        return 0
    scores.write(session, token, score_run, list(changed), (
        scores.NewRow(name, risk, reasons, _anomaly_score(scored, index),
                      _feature_row(scored, index))
        for name, (risk, reasons, index) in changed.items()), trusted, whole)
    return len(changed)


COMPARED = 50_000  # addresses a full run compares with their stored rows at a time


def _compare(scored: Scored, indices: np.ndarray, current: dict[str, AddressScore],
             pattern_ids: dict[str, int], suppressed: suppressions.Active | None,
             min_change: float, built_by: int | None,
             changed: dict[str, tuple[int, list[dict[str, Any]], int]],
             trusted: dict[str, AddressScore]) -> None:
    """Into `changed`, the addresses of `indices` whose finding differs from their stored
    row (`current`, which holds every stored row of those addresses and of none other but
    addresses the state does not know), and those whose stored finding is gone; into
    `trusted`, their rows written since run `built_by`."""
    flows = scored.flows
    position = {str(flows.addresses[i]): i for i in indices.tolist()}
    for name, address in position.items():
        risk = scored.risk.get(address)
        if risk is None:
            continue
        reasons = [r.as_dict(pattern_ids) for r in scored.reasons[address]]
        if suppressed is not None:
            risk, reasons = suppressed.apply(name, risk, reasons)
        before = current.get(name)
        if (before is None or suppressions.marks_changed(before.reasons, reasons)
                or _material(before, risk, reasons, min_change)):
            changed[name] = (risk, reasons, address)
    for name, before in current.items():
        # A row of suppressed reasons only has risk 0 but still shows them.
        if name not in changed and (before.risk_score > 0 or before.reasons):
            index = position.get(name)
            if index is None or index not in scored.risk:
                changed[name] = (0, [], index if index is not None else -1)
        if name in changed and built_by is not None and before.score_run_id >= built_by:
            trusted[name] = before


def _material(before: AddressScore, risk: int, reasons: list[dict[str, Any]],
              min_change: float) -> bool:
    """Whether a new score differs from the stored one enough to be a new finding: its
    severity or rules changed, a risk or reason score moved by `min_change`, a reason has
    new evidence, or a watchlist finding leads to another list or listed address (or was
    written before reasons named them)."""
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
        if any(reason.get(key) != old[rule].get(key)
               for key in ("list", "category", "listed", "cap")):
            return True
    return False


def _anomaly_score(scored: Scored, index: int) -> float | None:
    if index <= 0 or np.isnan(scored.anomaly_scores[index]):
        return None
    return float(scored.anomaly_scores[index])


def _feature_row(scored: Scored, index: int) -> dict[str, float]:
    if index <= 0:
        return {}
    values = scored.features.matrix[index]
    return {name: round(float(v), 6) for name, v in zip(scored.features.names, values,
                                                         strict=True)}
