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
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import AddressScore, DirtyAddress, ScoreRun, Token, Transfer
from monitor import metrics
from monitor.scoring import anomaly, features
from monitor.scoring.flows import Flows, extend_flows, load_flows
from monitor.scoring.risk import Reason, fuse, severity
from monitor.scoring.rules import (
    Context,
    Hit,
    Rule,
    cycle,
    dormant_reactivation,
    fan_in,
    fan_out,
    frozen_address_activity,
    gather_scatter,
    mint_then_dispersal,
    new_address_large_value,
    peel_chain,
    rapid_pass_through,
    scatter_gather,
    structuring,
    velocity_burst,
    watchlist_exposure,
)
from monitor.watchlist.service import listed_addresses

log = logging.getLogger(__name__)

# Rule ids are a contract (DESIGN.md); non_kyc_recipient extends the list (README).
RULES: dict[str, Rule] = {
    "structuring": structuring.detect,
    "fan_out": fan_out.detect,
    "fan_in": fan_in.detect,
    "scatter_gather": scatter_gather.detect,
    "gather_scatter": gather_scatter.detect,
    "peel_chain": peel_chain.detect,
    "cycle": cycle.detect,
    "rapid_pass_through": rapid_pass_through.detect,
    "velocity_burst": velocity_burst.detect,
    "dormant_reactivation": dormant_reactivation.detect,
    "new_address_large_value": new_address_large_value.detect,
    "mint_then_dispersal": mint_then_dispersal.detect,
    "frozen_address_activity": frozen_address_activity.detect,
    "watchlist_exposure": watchlist_exposure.detect,
    "non_kyc_recipient": watchlist_exposure.detect_non_kyc,
}


@dataclass
class Scored:
    """The in-memory result of scoring one token (before persistence)."""

    flows: Flows
    risk: dict[int, int]
    reasons: dict[int, list[Reason]]
    anomaly_scores: np.ndarray
    features: features.Features
    model: dict[str, Any]


def evaluate(
    flows: Flows, config: dict[str, Any], listings: dict[str, list[Any]] | None = None,
    permissioned: bool = False,
) -> Scored:
    """Run every rule and the anomaly model on a token's flows (pure computation).

    `listings` maps listed addresses (lower-case) to their watchlist entries.
    """
    rules = config["rules"]
    feats = features.compute(
        flows, {"reporting_threshold": float(rules["structuring"]["reporting_threshold"])},
        dict(config["feature_windows"]),
    )
    secondary = (flows.src != 0) & (flows.dst != 0)
    stats = {"large_amount": float(np.quantile(flows.amount[secondary], config["large_quantile"]))
             if secondary.any() else float("inf"), "permissioned": float(permissioned)}
    index = {str(a): i for i, a in enumerate(flows.addresses)} if listings else {}
    by_index = {index[a]: entries for a, entries in (listings or {}).items() if a in index}
    hits: dict[int, list[Reason]] = {}
    for rule_id, rule in RULES.items():
        context = Context(flows, feats, rules[rule_id], stats, by_index)
        for hit in rule(context):
            _add(hits, rule_id, hit)
    # Rows in address order, not index order: an appended-to cache numbers new addresses
    # last, and the forest's subsampling must not depend on that.
    rows = 1 + np.argsort(flows.addresses[1:].astype(str), kind="stable")
    result = anomaly.fit_score(feats.names, feats.matrix, rows, rules["anomaly"])
    for address, text in result.explanations.items():
        score = round(100 * float(result.scores[address]))
        hits.setdefault(address, []).append(Reason("anomaly", score, text, []))
    risk: dict[int, int] = {}
    for address, reasons in hits.items():
        risk[address], hits[address] = fuse(reasons, config["weights"])
    return Scored(flows, risk, hits, result.scores, feats, result.model)


def _add(hits: dict[int, list[Reason]], rule_id: str, hit: Hit) -> None:
    if hit.address == 0:
        return
    reasons = hits.setdefault(hit.address, [])
    for k, existing in enumerate(reasons):
        if existing.rule == rule_id:
            if existing.score >= hit.score:
                return
            del reasons[k]
            break
    reasons.append(Reason(rule_id, int(round(min(max(hit.score, 0), 100))), hit.detail,
                          list(hit.evidence)))


class FlowsCache:
    """Each token's flows kept between runs by a long-lived process (the daemon), so an
    incremental run reads only the blocks ingested since the last one instead of the whole
    history. Any address marked for re-scoring (a reorg deleted rows) or a full run reloads
    from the database; the result is the same either way, only faster."""

    def __init__(self) -> None:
        self._flows: dict[int, tuple[int, Flows]] = {}
        self.lock = threading.Lock()  # the daemon's scoring jobs run in parallel threads

    def flows(self, session: Session, token: Token, newest: int | None, reload: bool) -> Flows:
        with self.lock:
            cached = None if reload else self._flows.get(token.id)
            if cached is None or newest is None or newest < cached[0]:
                flows = load_flows(session, token)
            elif newest == cached[0]:
                flows = cached[1]
            else:
                flows = extend_flows(session, token, cached[1], cached[0])
            # Keyed by the last block actually read: ingest may have committed more blocks
            # between `newest` and the read, and those must not be appended twice.
            last = flows.last_block()
            if last is None:
                self._flows.pop(token.id, None)
            else:
                self._flows[token.id] = (last, flows)
            return flows


def run(
    session: Session, token: Token, config: dict[str, Any], kind: str = "full",
    cache: FlowsCache | None = None,
) -> ScoreRun | None:
    """Score one token and persist what changed; None when an incremental run has nothing to do."""
    last = session.scalar(
        select(ScoreRun).where(ScoreRun.token_id == token.id, ScoreRun.status == "done")
        .order_by(ScoreRun.id.desc()).limit(1)
    )
    newest = session.scalar(select(func.max(Transfer.block_number))
                            .where(Transfer.token_id == token.id))
    dirty = list(session.scalars(select(DirtyAddress.address)
                                 .where(DirtyAddress.token_id == token.id)))
    if (kind == "incremental" and last is not None and not dirty
            and (newest or -1) <= (last.up_to_block if last.up_to_block is not None else -1)):
        return None
    started = time.perf_counter()
    score_run = ScoreRun(kind=kind, token_id=token.id, status="running", up_to_block=newest)
    session.add(score_run)
    session.flush()
    if cache is None:
        flows = load_flows(session, token)
    else:
        flows = cache.flows(session, token, newest, reload=kind == "full" or bool(dirty))
    scored = evaluate(flows, config, listed_addresses(session),
                      permissioned=token.standard == "erc3643")
    written = _persist(session, token, score_run, scored, int(config["min_score_change"]))
    session.execute(delete(DirtyAddress).where(DirtyAddress.token_id == token.id,
                                               DirtyAddress.address.in_(dirty)))
    score_run.status = "done"
    score_run.finished_at = datetime.now(UTC)
    score_run.addresses_scored = max(flows.n_addresses - 1, 0)
    score_run.model = {**scored.model, "rules": sorted(RULES), "changed_rows": written}
    seconds = time.perf_counter() - started
    metrics.score_run_seconds.observe(seconds)
    metrics.addresses_scored_total.inc(score_run.addresses_scored)
    log.info("scored token %s (%s): %s addresses, %s flagged rows changed in %.2fs",
             token.id, kind, score_run.addresses_scored, written, seconds)
    return score_run


def current_scores(session: Session, token_id: int) -> dict[str, AddressScore]:
    """The latest score row of every address of a token."""
    latest = (
        select(AddressScore.address, func.max(AddressScore.score_run_id).label("run"))
        .where(AddressScore.token_id == token_id).group_by(AddressScore.address).subquery()
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
             min_change: int) -> int:
    flows = scored.flows
    current = current_scores(session, token.id)
    changed: dict[str, tuple[int, list[Reason], int]] = {}
    for address, risk in scored.risk.items():
        name = str(flows.addresses[address])
        reasons = [r.as_dict() for r in scored.reasons[address]]
        before = current.get(name)
        if before is None or _material(before, risk, reasons, min_change):
            changed[name] = (risk, scored.reasons[address], address)
    position = {a: i for i, a in enumerate(flows.addresses)}
    for name, before in current.items():
        if name not in changed and before.risk_score > 0:
            index = position.get(name)
            if index is None or index not in scored.risk:
                changed[name] = (0, [], index if index is not None else -1)
    if not changed:
        return 0
    totals = _exact_totals(session, token.chain_id, token.id, list(changed))
    for name, (risk, reasons, index) in changed.items():
        stats = totals.get(name, {})
        anomaly_score = (float(scored.anomaly_scores[index])
                         if index > 0 and not np.isnan(scored.anomaly_scores[index]) else None)
        session.add(AddressScore(
            score_run_id=score_run.id, token_id=token.id, address=name, risk_score=risk,
            severity=severity(risk), anomaly_score=anomaly_score,
            reasons=[r.as_dict() for r in reasons],
            features=_feature_row(scored, index),
            first_seen=stats.get("first_seen"), last_seen=stats.get("last_seen"),
            in_count=stats.get("in_count", 0), out_count=stats.get("out_count", 0),
            in_value=stats.get("in_value", 0), out_value=stats.get("out_value", 0),
        ))
    session.flush()
    return len(changed)


def _material(before: AddressScore, risk: int, reasons: list[dict[str, Any]],
              min_change: int) -> bool:
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
    session: Session, chain_id: int, token_id: int, addresses: list[str]
) -> dict[str, dict[str, Any]]:
    """Exact uint256 in/out sums and first/last seen, for the addresses being written.

    Postgres sums NUMERIC(78,0) exactly in SQL; SQLite stores amounts as text, so there the
    rows come back and Python adds the integers.
    """
    totals: dict[str, dict[str, Any]] = {
        a: {"in_count": 0, "out_count": 0, "in_value": 0, "out_value": 0} for a in addresses
    }
    exact_sql = session.get_bind().dialect.name == "postgresql"
    for side, column in (("out", Transfer.from_address), ("in", Transfer.to_address)):
        for start in range(0, len(addresses), 500):
            chunk = addresses[start:start + 500]
            # chain_id leads the (chain_id, address, block_time) indexes.
            where = (Transfer.chain_id == chain_id, Transfer.token_id == token_id,
                     column.in_(chunk))
            if exact_sql:
                rows = session.execute(
                    select(column, func.count(), func.sum(Transfer.amount),
                           func.min(Transfer.block_time), func.max(Transfer.block_time))
                    .where(*where).group_by(column))
            else:
                rows = session.execute(select(column, 1, Transfer.amount, Transfer.block_time,
                                              Transfer.block_time).where(*where))
            for address, count, amount, first, last in rows:
                entry = totals[address]
                entry[f"{side}_count"] += int(count)
                entry[f"{side}_value"] += int(amount)
                first = first if first.tzinfo else first.replace(tzinfo=UTC)
                last = last if last.tzinfo else last.replace(tzinfo=UTC)
                entry["first_seen"] = min(entry.get("first_seen", first), first)
                entry["last_seen"] = max(entry.get("last_seen", last), last)
    return totals
