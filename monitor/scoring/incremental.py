"""Incremental re-scoring in a long-lived process: only what new transfers can change.

After a full run, the daemon keeps the token's scoring state (flows, features, the fitted
forest, each address's rule reasons). When new blocks arrive:

1. the addresses in the new transfers (and any whose freeze history changed) are
   *touched*; their features are recomputed over their own transfers — every
   per-address feature depends only on the address's own transfers;
2. the *neighbourhood* to re-score is the touched addresses plus what a walk from them
   reaches (`neighbourhood`): every counterparty of a touched address that can be a
   low-degree member of a pattern anchored at that counterparty (a feeder, mule, hop,
   cycle member or relay), or whose side (service wallet, deposit address) changed; and
   on from there through addresses with at most `degree_limit` counterparties (peel
   chains, cycles, mules and pass-through chains are made of such addresses); a busy
   address the walk reaches joins it but is not walked through: a pattern anchored there
   is found again from its own transfers, and its other members get their reasons from
   the pattern;
3. the rules run on the transfers of that neighbourhood and of its low-degree
   counterparties (a scatter-gather's mules, a chain's hops), with the token-wide
   features; a busy address of the neighbourhood whose features prove that no local
   rule can find anything of its own (`settled`: a service wallet that neither burst nor
   woke up) is left out, with its history. Patterns anchored in the neighbourhood are
   found again and replace the ones held; the others stand, and every member of a
   pattern that changed gets its reasons again. The watchlist rules, whose taint crosses
   hubs, run on the whole token (over the pair sums they keep, grown by the new rows)
   and re-score whoever's exposure changed;
4. the neighbourhood is scored by the forest fitted in the last full run, against that
   run's token-wide statistics (the "large transfer" quantile).

So an incremental run gives a neighbourhood address exactly what a full run would give it
with the same forest and statistics. What it does not do is refit the forest or move the
token-wide statistics for everyone; the daemon's periodic full run does that.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring import bridges, evaluate, learned, population
from monitor.scoring.config import RulesConfig
from monitor.scoring.evaluate import Scored
from monitor.scoring.features import Features, Tally
from monitor.scoring.flows import Flows, _append, unique_ints
from monitor.scoring.rules import dormant_reactivation, velocity_burst
from monitor.watchlist.service import Listing


def degree_limit(config: RulesConfig) -> int:
    """Counterparties above which an address ends the neighbourhood walk: the largest
    degree a multi-address pattern allows its low-degree members (cycle members, mules
    with their senders and receivers, peel-chain hops, pass-through intermediaries)."""
    rules = config.rules
    return int(max(rules.cycle.max_counterparties,
                   2 * rules.scatter_gather.max_mule_counterparties,
                   rules.peel_chain.max_hop_receipts + rules.peel_chain.max_hop_sends,
                   rules.rapid_pass_through.max_counterparties,
                   rules.fan_in.max_feeder_transfers))


def touched(old: Flows, new: Flows) -> np.ndarray:
    """Addresses in the transfers `new` added to `old`, and those whose freezes changed."""
    ends = np.concatenate((new.src[old.n:], new.dst[old.n:]))
    frozen = [a for a, spans in new.frozen.items() if old.frozen.get(a) != spans]
    frozen += [a for a in old.frozen if a not in new.frozen]
    found = np.union1d(ends, np.asarray(frozen, dtype=np.int64))
    return found[found != 0]


def neighbourhood(flows: Flows, degree: np.ndarray, seeds: np.ndarray, limit: int,
                  open_seeds: np.ndarray | None = None) -> np.ndarray:
    """`seeds` and the addresses whose findings they can change, ascending.

    The walk crosses every edge of the seeds marked in `open_seeds` (bool per address)
    and of every address with at most `limit` counterparties (chains, loops and mules are
    made of such addresses); a busy address ends it, since walking on from every busy
    wallet would reach the whole token. The zero address is never part of it.
    """
    low = degree <= limit
    low[0] = False
    level = np.full(flows.n_addresses, -1, dtype=np.int64)
    level[seeds] = 0
    frontier, step = seeds, 0
    while frontier.size:
        crosses = low[frontier] if step or open_seeds is None else (
            low[frontier] | open_seeds[frontier])
        rows = flows.rows_touching(frontier[crosses])
        found = np.unique(np.concatenate([flows.src[rows], flows.dst[rows]]))
        frontier = found[level[found] < 0]
        step += 1
        level[frontier] = step
    level[0] = -1
    return np.flatnonzero(level >= 0)


def settled(flows: Flows, feats: Features, config: RulesConfig, stats: population.Yardsticks,
            service: np.ndarray, addresses: np.ndarray) -> np.ndarray:
    """Those of `addresses` for which no local rule can have a finding of their own (a
    pattern anchored there, a hit), proven from what is held of them, not from their rows:
    a service wallet is never the anchor of a graph typology (each rule leaves service
    wallets out, and cycles, chains and relays are made of low-degree addresses), so only
    the rules of `ruled_out_by_features` could judge it, and its features say whether
    either can; an address that was frozen or sent or received a bridge transfer is judged
    by its rows. The rules then need none of a settled hub's history: its transfers with
    the rest of the neighbourhood come with the others' rows."""
    if addresses.size == 0:
        return addresses
    bridged = {end for leg in flows.legs for end in (leg.sender, leg.recipient)}
    free = np.array([a not in flows.frozen and str(flows.addresses[a]) not in bridged
                     for a in addresses.tolist()], dtype=bool)
    ruled_out = ruled_out_by_features(feats, config, stats, addresses).values()
    return addresses[service[addresses] & free & np.logical_and.reduce(list(ruled_out))]


def ruled_out_by_features(feats: Features, config: RulesConfig,
                          stats: population.Yardsticks,
                          addresses: np.ndarray) -> dict[str, np.ndarray]:
    """Per rule, a bool per one of `addresses`: its `may_` check proves the rule can find
    nothing for it (by its features, as the rule judges its rows). The rule need not sort
    and scan such histories (an issuer's, a busy holder's), and leaving them out of its
    focus changes none of its findings, each of which is an address's own."""
    rules, windows = config.rules, dict(config.feature_windows)
    return {
        "velocity_burst": ~velocity_burst.may_hit(feats, rules.velocity_burst, windows,
                                                  addresses),
        "dormant_reactivation": ~dormant_reactivation.may_wake(
            feats, rules.dormant_reactivation, stats, addresses),
    }


def _grown(mask: np.ndarray, size: int) -> np.ndarray:
    """`mask` (per address of the flows before) padded with False for new addresses."""
    return np.r_[mask, np.zeros(size - mask.size, dtype=bool)]


def prepare(state: Scored, config: RulesConfig) -> None:
    """Build now, at the end of a full run whose state a long-lived process keeps, what
    its first incremental run would otherwise build on its first block: room after each
    per-transfer column for the blocks to come, the per-address row index, the running
    state of the features (Tally) and of the sides (population.HeldSides), the patterns
    by address and the addresses with a watchlist reason. A refit pays for them once
    instead of the next block (at 2.8M transfers ~0.8 s of it)."""
    flows, feats = state.flows, state.features
    for holder, names in ((flows, ("t", "block", "src", "dst", "amount", "log", "bridge")),
                          (feats, ("recv_new", "send_first", "hold_seconds",
                                   "last_receipt"))):
        for name in names:
            column = getattr(holder, name)
            setattr(holder, name, _append(column, column[:0]))
    flows.index()
    feats.tally = Tally.build(flows, evaluate.feature_thresholds(config), flows.n)
    feats.held_sides = population.HeldSides.build(state.stats, flows, feats)
    state.holding(())  # the patterns by address
    state.exposed()  # and the addresses with a watchlist reason


def rescore(state: Scored, flows: Flows, config: RulesConfig,
            listings: dict[int, list[Listing]], plan: bridges.Plan | None = None,
            ) -> np.ndarray:
    """Update `state` (from a full run or an earlier rescore) for the grown `flows`; returns
    the addresses whose reasons were recomputed. `plan`: bridge transfers linked or
    unlinked since the rows were read, whose burn and mint rows are rewritten here
    (monitor.scoring.bridges.refresh); their ends are seeds like new transfers' ends."""
    old, feats = state.flows, state.features
    old_n, old_addresses = old.n, old.n_addresses
    seeds = touched(old, flows)
    # A seed's changed features can change a pattern anchored at any of its counterparties
    # only while it can be a low-degree member there (a feeder, mule, hop, cycle member,
    # relay or its recipient: each has at most `degree_limit` counterparties, and degree
    # only grows), or when its side (service wallet, deposit address) changed. So only
    # those seeds open their walk to every counterparty, and so does any address whose
    # side changed, new transfers or not (its wallet grew busy); any other busy seed
    # (an issuer paying thousands of holders) stays closed, as the transfers that are new
    # bring their other ends in as seeds.
    limit = degree_limit(config)
    flows.index()  # the per-address row index: a block reads its addresses' rows only
    # Measured before any row is rewritten: the rewrite is in place, and `old` may share
    # its arrays with `flows` (monitor.scoring.flows._append). Kept with the features and
    # advanced by the new rows (population.HeldSides), not summed over every transfer.
    held = feats.held_sides
    if held is None or held.n != old_n:
        held = population.HeldSides.build(state.stats, old, feats)
    before_sides = held.result()
    degree_before = population.degree(feats)[:old_addresses] <= limit
    rewritten = np.zeros(0, dtype=np.int64)
    if plan:
        linked, rewritten = bridges.apply(flows, plan)
        seeds = np.union1d(seeds, linked)
        if rewritten.size:
            held = None  # rows changed in place: summed again below
            state.kept.clear()  # and so are what the rules kept
    member_before = np.ones(flows.n_addresses, dtype=bool)  # a new address had none
    member_before[:old_addresses] = degree_before
    before = [_grown(side, flows.n_addresses) for side in before_sides]
    feats.update(flows, old_n, seeds, evaluate.feature_thresholds(config),
                 dict(config.feature_windows), rewritten)
    if held is None:
        held = population.HeldSides.build(state.stats, flows, feats)
    else:
        held.advance(state.stats, flows, feats)
    feats.held_sides = held
    sides = held.result()
    changed_side = (before[0] != sides[0]) | (before[1] != sides[1])
    flipped = np.flatnonzero(changed_side)
    seeds = np.union1d(seeds, flipped[flipped != 0])
    degree = population.degree(feats)
    open_seeds = (member_before & ~(before[0] & sides[0])) | changed_side
    region = neighbourhood(flows, degree, seeds, limit, open_seeds)
    in_region = np.zeros(flows.n_addresses, dtype=bool)
    in_region[region] = True
    # The rules judge the region but its settled hubs, which have no findings of their
    # own: so a hub's history (a third of the token's) is not read every block.
    judged = np.setdiff1d(region, settled(flows, feats, config, state.stats, sides[0],
                                          region[degree[region] > limit]))
    rows = flows.rows_touching(judged)
    ends = unique_ints(np.concatenate((flows.src[rows], flows.dst[rows])))
    rows = flows.rows_touching(np.union1d(judged, ends[(degree[ends] <= limit) & (ends != 0)]))
    focus = np.zeros(flows.n_addresses, dtype=bool)
    focus[judged] = True
    local = evaluate.contexts(flows.subset(rows), feats.restricted(rows, flows.n), config,
                              state.stats, listings, focus, sides)
    for rule, ruled_out in ruled_out_by_features(feats, config, state.stats, judged).items():
        if ruled_out.any():  # no finding of theirs in this rule: not judged by it
            narrowed = focus.copy()
            narrowed[judged[ruled_out]] = False
            local[rule].focus = narrowed
    found = evaluate.find_patterns(local)
    # Patterns anchored in the region are found again (a settled hub has none); the
    # others stand.
    dropped = [key for key in sorted(state.holding(region.tolist()))
               if in_region[state.patterns[key].anchor]]
    affected = set(region.tolist())
    for key in dropped:
        affected.update(state.drop_pattern(key).members)
    for pattern in found.values():
        state.put_pattern(pattern)
        affected.update(pattern.members)
    address_found = evaluate.address_reasons(local, evaluate.LOCAL_RULES)
    exposure = (evaluate.address_reasons(evaluate.contexts(flows, feats, config, state.stats,
                                                           listings, kept=state.kept),
                                         evaluate.GLOBAL_RULES) if listings else {})
    members = evaluate.pattern_reasons(
        (state.patterns[key] for key in sorted(state.holding(affected))), config, affected)
    changed = set(affected)
    for address in set(exposure) | state.exposed():
        held = {k: v for k, v in state.raw.get(address, {}).items()
                if k in evaluate.GLOBAL_RULES}
        if exposure.get(address, {}) != held:
            changed.add(address)
    # Every re-scored address is scored by the forest again (its age moved, if nothing else).
    rescored = np.array(sorted(changed), dtype=np.int64)
    grown = flows.n_addresses - state.anomaly_scores.size
    scores = np.r_[state.anomaly_scores, np.full(grown, np.nan)]
    explanations: dict[int, str] = {}
    if state.fitted is not None:
        scores[rescored], explanations = state.fitted.score(feats.matrix, rescored)
    for address in changed:
        held = state.raw.get(address, {})
        if in_region[address]:
            reasons = dict(address_found.get(address, {}))
        else:  # keeps its own findings; its pattern and exposure findings are redone
            reasons = {k: v for k, v in held.items() if k in evaluate.LOCAL_RULES}
        if address in explanations:
            reasons["anomaly"] = evaluate.anomaly_reason(scores[address], explanations[address])
        if address in affected:
            reasons.update(members.get(address, {}))
        else:
            reasons.update({k: v for k, v in held.items() if k in evaluate.PATTERN_RULES})
        reasons.update(exposure.get(address, {}))
        state.set_reasons(address, reasons, config)
    state.flows, state.anomaly_scores = flows, scores
    # The ranker reads counterparties' findings and the labels too: it ranks the whole
    # token again, and every address whose learned reason changed is re-scored.
    ranked = learned.apply(state, config)
    return np.union1d(rescored, ranked) if ranked.size else rescored
