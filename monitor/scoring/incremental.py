"""Incremental re-scoring in a long-lived process: only what new transfers can change.

After a full run, the daemon keeps the token's scoring state (flows, features, the fitted
forest, each address's rule reasons). When new blocks arrive:

1. the addresses in the new transfers (and any whose freeze history changed) are
   *touched*; their features are recomputed over their own transfers — every
   per-address feature depends only on the address's own transfers;
2. the *neighbourhood* to re-score is the touched addresses plus what a walk from them
   reaches (`neighbourhood`): the patterns that span several addresses (peel chains,
   cycles, scatter-gather mules, fresh fan-in senders) run through addresses with at
   most `degree_limit` counterparties, and busy addresses join them as sources and
   collectors;
3. the typology rules run on the transfers of that neighbourhood only, with the
   token-wide features; the watchlist rules, whose taint crosses hubs, run on the whole
   token and re-score whoever's exposure changed;
4. the neighbourhood is scored by the forest fitted in the last full run, against that
   run's token-wide statistics (the "large transfer" quantile).

So an incremental run gives a neighbourhood address exactly what a full run would give it
with the same forest and statistics. What it does not do is refit the forest or move the
token-wide statistics for everyone; the daemon's periodic full run does that.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from monitor.scoring.flows import Flows

if TYPE_CHECKING:
    from monitor.scoring.service import Scored


def degree_limit(rules: dict[str, Any]) -> int:
    """Counterparties above which an address ends the neighbourhood walk: the largest
    degree a multi-address pattern allows its members (cycle members, mules with their
    senders and receivers, peel-chain hops with up to 2 receipts and 3 sends)."""
    return int(max(rules["cycle"]["max_counterparties"],
                   2 * rules["scatter_gather"]["max_mule_counterparties"], 5))


def touched(old: Flows, new: Flows) -> np.ndarray:
    """Addresses in the transfers `new` added to `old`, and those whose freezes changed."""
    ends = np.concatenate((new.src[old.n:], new.dst[old.n:]))
    frozen = [a for a, spans in new.frozen.items() if old.frozen.get(a) != spans]
    frozen += [a for a in old.frozen if a not in new.frozen]
    found = np.union1d(ends, np.asarray(frozen, dtype=np.int64))
    return found[found != 0]


def neighbourhood(flows: Flows, degree: np.ndarray, seeds: np.ndarray, limit: int) -> np.ndarray:
    """`seeds` and the addresses whose findings they can change, ascending.

    The walk crosses every edge of an address with at most `limit` counterparties (chains,
    loops and mules are made of such addresses), and from a busy address only to its
    low-degree counterparties, and only within one step of a seed: a busy source or
    collector's other mules are in its pattern, but walking on from every busy wallet
    would reach the whole token. The zero address is never part of it.
    """
    low = degree <= limit
    low[0] = False
    level = np.full(flows.n_addresses, -1, dtype=np.int64)
    level[seeds] = 0
    frontier, step = seeds, 0
    while frontier.size:
        walk = frontier[low[frontier]]
        rows = flows.rows_touching(walk)
        near = [flows.src[rows], flows.dst[rows]]
        busy = frontier[~low[frontier]] if step <= 1 else frontier[:0]
        rows = flows.rows_touching(busy)
        near += [flows.src[rows][low[flows.src[rows]]], flows.dst[rows][low[flows.dst[rows]]]]
        found = np.unique(np.concatenate(near))
        frontier = found[level[found] < 0]
        step += 1
        level[frontier] = step
    level[0] = -1
    return np.flatnonzero(level >= 0)


def rescore(state: Scored, flows: Flows, config: dict[str, Any],
            listings: dict[int, list[Any]]) -> np.ndarray:
    """Update `state` (from a full run or an earlier rescore) for the grown `flows`; returns
    the addresses whose reasons were recomputed."""
    from monitor.scoring import service  # the rule registry; service imports this module

    old, feats = state.flows, state.features
    seeds = touched(old, flows)
    rules = config["rules"]
    feats.update(flows, old.n, seeds,
                 {"reporting_threshold": float(rules["structuring"]["reporting_threshold"])},
                 dict(config["feature_windows"]))
    degree = feats.column("in_counterparties") + feats.column("out_counterparties")
    region = neighbourhood(flows, degree, seeds, degree_limit(rules))
    rows = flows.rows_touching(region)
    focus = np.zeros(flows.n_addresses, dtype=bool)
    focus[region] = True
    local = service.rule_reasons(flows.subset(rows), feats.restricted(rows, flows.n), config,
                                 state.stats, listings, service.LOCAL_RULES, focus)
    exposure = (service.rule_reasons(flows, feats, config, state.stats, listings,
                                     service.GLOBAL_RULES) if listings else {})
    grown = flows.n_addresses - state.anomaly_scores.size
    scores = np.r_[state.anomaly_scores, np.full(grown, np.nan)]
    explanations: dict[int, str] = {}
    if state.fitted is not None:
        scores[region], explanations = state.fitted.score(feats.matrix, region)
    in_region = set(region.tolist())
    changed = set(in_region)
    for address in set(exposure) | {a for a, r in state.raw.items()
                                    if any(rule in r for rule in service.GLOBAL_RULES)}:
        before = {k: v for k, v in state.raw.get(address, {}).items()
                  if k in service.GLOBAL_RULES}
        if exposure.get(address, {}) != before:
            changed.add(address)
    for address in changed:
        reasons = {} if address in in_region else {
            k: v for k, v in state.raw.get(address, {}).items() if k not in service.GLOBAL_RULES}
        if address in in_region:
            reasons.update(local.get(address, {}))
            if address in explanations:
                reasons["anomaly"] = service.anomaly_reason(scores[address],
                                                            explanations[address])
        reasons.update(exposure.get(address, {}))
        state.set_reasons(address, reasons, config["weights"])
    state.flows, state.anomaly_scores = flows, scores
    return np.array(sorted(changed), dtype=np.int64)
