"""A token's scoring cut into shards: each shard judges its own anchors exactly as a full
evaluation would, and the shards' findings together are the full evaluation's.

What a rule reads to judge an anchor is what an incremental run gives it for its
neighbourhood (monitor.scoring.incremental, tested equal to a full evaluation): the
anchor's transfers, the walk from it through low-degree addresses (a chain's hops, a
cycle's members, a scatter-gather's mules: at most `degree_limit` counterparties each)
and the transfers of the low-degree counterparties that walk reaches, with the token-wide
features, yardsticks and service/deposit sides. So:

- a *shard key* per address: its connected component in the graph of transfers between
  low-degree addresses (chains and cycles are made of such addresses, so a chain or a
  cycle is never cut); a busy address (a hub, the anchor of a star pattern: fan-in,
  fan-out, structuring, gather-scatter) is a component of its own. Keys are spread over K
  shards (`assign`), in a shuffled order when asked;
- a shard's *rows*: the transfers of the walk from its anchors, and of the low-degree
  ends of those transfers (`shard_rows`). A hub's transfers are copied into every shard
  that holds one of its low-degree counterparties' components, and into its own;
- a shard is judged with the kernel's own functions on those rows, finding only the
  patterns anchored at, and the address-rule reasons of, its own anchors (`judge`);
- the watchlist rules, whose taint crosses hubs, run on the whole token
  (evaluate.GLOBAL_RULES), as an incremental run does; the IsolationForest is fitted and
  scored on the whole feature matrix, as `evaluate` does (`assemble`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from monitor.scoring import anomaly, evaluate, incremental, population
from monitor.scoring.config import RulesConfig
from monitor.scoring.evaluate import Patterns, Reasons, Scored
from monitor.scoring.features import Features
from monitor.scoring.flows import Flows
from monitor.watchlist.service import Listing


@dataclass
class Found:
    """One shard's findings: the patterns anchored at its anchors, and its anchors'
    address-rule reasons (the local rules: the watchlist rules run on the whole token)."""

    patterns: Patterns
    reasons: Reasons


def components(flows: Flows, degree: np.ndarray, limit: int) -> np.ndarray:
    """Per address: the label of its connected component among transfers whose two ends
    both have at most `limit` counterparties; a busy address is alone in its own. The
    zero address (mints, burns) joins nothing."""
    low = degree <= limit
    low[0] = False
    keep = low[flows.src] & low[flows.dst]
    n = flows.n_addresses
    graph = coo_matrix((np.ones(int(keep.sum()), dtype=np.int8),
                        (flows.src[keep], flows.dst[keep])), shape=(n, n)).tocsr()
    return connected_components(graph, directed=False)[1].astype(np.int64)


def assign(labels: np.ndarray, k: int, seed: int | None = None) -> np.ndarray:
    """Shard (0..k-1) per address from its component label; `seed` shuffles which
    components go together (the result must not depend on it)."""
    if seed is None:
        spread = labels
    else:
        spread = np.random.default_rng(seed).permutation(int(labels.max()) + 1)[labels]
    return (spread % max(k, 1)).astype(np.int64)


def shard_rows(flows: Flows, degree: np.ndarray, limit: int,
               anchors: np.ndarray) -> np.ndarray:
    """The transfers (ascending) rules need to judge `anchors`: as an incremental run
    reads them for its neighbourhood (monitor.scoring.incremental.rescore)."""
    region = incremental.neighbourhood(flows, degree, anchors, limit)
    rows = flows.rows_touching(region)
    ends = np.union1d(flows.src[rows], flows.dst[rows])
    return flows.rows_touching(np.union1d(region, ends[(degree[ends] <= limit) & (ends != 0)]))


def judge(flows: Flows, feats: Features, config: RulesConfig, stats: population.Yardsticks,
          sides: tuple[np.ndarray, np.ndarray], listings: dict[int, list[Listing]],
          focus: np.ndarray) -> Found:
    """One shard: `flows` and `feats` hold its rows (the token's address numbering,
    token-wide per-address features); `focus` marks its anchors."""
    ctxs = evaluate.contexts(flows, feats, config, stats, listings, focus, sides)
    patterns = {key: p for key, p in evaluate.find_patterns(ctxs).items()
                if focus[p.anchor]}
    reasons = {a: r for a, r in evaluate.address_reasons(ctxs, evaluate.LOCAL_RULES).items()
               if focus[a]}
    return Found(patterns, reasons)


@dataclass
class Plan:
    """What every shard shares, and which shard each address anchors."""

    feats: Features
    stats: population.Yardsticks
    sides: tuple[np.ndarray, np.ndarray]
    shard_of: np.ndarray  # per address; -1 for the zero address
    limit: int
    k: int


def plan(flows: Flows, config: RulesConfig, k: int, permissioned: bool = False,
         seed: int | None = None, feats: Features | None = None,
         stats: population.Yardsticks | None = None,
         sides: tuple[np.ndarray, np.ndarray] | None = None) -> Plan:
    """Features, yardsticks and sides of the whole token (given, or measured by the
    kernel) and each address's shard."""
    feats = feats if feats is not None else evaluate.compute_features(flows, config)
    stats = stats if stats is not None else population.measure(flows, feats, config,
                                                               permissioned)
    sides = sides if sides is not None else population.sides(stats, flows, feats)
    limit = incremental.degree_limit(config)
    degree = population.degree(feats)
    shard_of = assign(components(flows, degree, limit), k, seed)
    shard_of[0] = -1
    return Plan(feats, stats, sides, shard_of, limit, k)


def rows_of(flows: Flows, shard_plan: Plan, shard: int) -> np.ndarray:
    anchors = np.flatnonzero(shard_plan.shard_of == shard)
    return shard_rows(flows, population.degree(shard_plan.feats), shard_plan.limit, anchors)


def judge_shard(flows: Flows, shard_plan: Plan, config: RulesConfig,
                listings: dict[int, list[Listing]], shard: int) -> Found:
    """Shard `shard` of the token, judged locally (what a Spark task runs, without Spark)."""
    rows = rows_of(flows, shard_plan, shard)
    return judge(flows.subset(rows), shard_plan.feats.restricted(rows, flows.n), config,
                 shard_plan.stats, shard_plan.sides, listings, shard_plan.shard_of == shard)


def assemble(flows: Flows, shard_plan: Plan, config: RulesConfig,
             listings: dict[int, list[Listing]], found: Iterable[Found]) -> Scored:
    """The shards' findings, the watchlist rules on the whole token and the forest: the
    `Scored` state `evaluate` produces, for the same persistence path."""
    feats, stats = shard_plan.feats, shard_plan.stats
    patterns: Patterns = {}
    raw: Reasons = {}
    for part in found:
        for key, pattern in part.patterns.items():
            held = patterns.get(key)
            if held is None or held.score < pattern.score:
                patterns[key] = pattern
        evaluate.merge(raw, part.reasons)
    if listings:
        ctxs = evaluate.contexts(flows, feats, config, stats, listings, None, shard_plan.sides)
        evaluate.merge(raw, evaluate.address_reasons(ctxs, evaluate.GLOBAL_RULES))
    patterns = dict(sorted(patterns.items()))
    evaluate.merge(raw, evaluate.pattern_reasons(patterns.values(), config))
    rows = 1 + np.argsort(flows.addresses[1:].astype(str), kind="stable")
    result = anomaly.fit_score(feats.names, feats.matrix, rows, config.rules.anomaly)
    for address, text in result.explanations.items():
        raw.setdefault(address, {})["anomaly"] = evaluate.anomaly_reason(
            result.scores[address], text)
    scored = Scored(flows, {}, {}, result.scores, feats, result.model, {}, stats,
                    result.fitted, patterns)
    for address in sorted(raw):
        scored.set_reasons(address, raw[address], config)
    return scored


def evaluate_sharded(flows: Flows, config: RulesConfig,
                     listings: dict[str, list[Listing]] | None = None,
                     permissioned: bool = False, k: int = 3,
                     seed: int | None = None) -> Scored:
    """`evaluate`, shard by shard in this process (in a shuffled order when `seed` is
    given): the reference the Spark runner is held to."""
    index = evaluate.listing_index(flows, listings)
    shard_plan = plan(flows, config, k, permissioned, seed)
    order = list(range(k))
    if seed is not None:
        np.random.default_rng(seed + 1).shuffle(order)
    return assemble(flows, shard_plan, config, index,
                    [judge_shard(flows, shard_plan, config, index, s) for s in order])
