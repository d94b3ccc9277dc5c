"""fan_in: several mule-like feeders pay one collector within a window.

Collection from mule accounts. An exchange also receives from many senders, but those
are its customers: service wallets (by the token's own yardstick) are never collectors,
nor is an address that burns most of what it sends on (an issuer taking redemptions).
A feeder counts when it looks like a mule towards this collector: it made at most
`max_feeder_transfers` transfers in all, and it first appeared at most `fresh_seconds`
before paying or sent the collector at least `min_dedication` of everything it ever
sent; or it paid the collector in split transfers that are rare on this token
(split_transfers).
At least `min_feeders` such feeders within `window_seconds` make a pattern: the
collector and every feeder it gathered without pausing longer than the window.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.config import FanIn
from monitor.scoring.context import Context
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import address_ranges, best_windows, duration, scale, spell
from monitor.scoring.rules.split_transfers import rare_pairs


def detect(ctx: Context[FanIn]) -> list[Pattern]:
    p, f = ctx.params, ctx.flows
    mule = _feeding(ctx)
    if mule.size == 0:
        return []
    # One event per (collector, feeder): distinct feeders are what matters.
    key = f.dst[mule].astype(np.int64) * (1 << 32) + f.src[mule]
    _, first = np.unique(key, return_index=True)
    mule = mule[np.sort(first)]
    window = int(p.window_seconds)
    groups, counts, slices = best_windows(f.dst[mule], f.t[mule], window)
    found = []
    for collector, count, picked in zip(groups, counts, slices, strict=True):
        if count < p.min_feeders:
            continue
        mine = mule[f.dst[mule] == collector]  # in time order
        start, end = spell(f.t[mine], int(f.t[mule[picked]].min()),
                           int(f.t[mule[picked]].max()), window)
        feeders = np.unique(f.src[mine[(f.t[mine] >= start) & (f.t[mine] <= end)]])
        got = f.received(int(collector))
        used = got[np.isin(f.src[got], feeders) & (f.t[got] >= start)
                   & (f.t[got] <= end + window)]
        title = (
            f"a fan-in of {feeders.size} feeders into {ctx.who(int(collector))} "
            f"({ctx.amount(f.amount[used].sum())} within {duration(end - start)})"
        )
        score = scale(float(feeders.size), p.min_feeders, 4 * p.min_feeders, floor=60, cap=90)
        members = {int(collector): "collector", **{int(a): "feeder" for a in feeders}}
        pattern = build(ctx, "fan_in", int(collector), members, used, score, title)
        if anchored(pattern, ctx.focus):
            found.append(pattern)
    return found


# Transfers judged at a time by _feeding: a range of senders, so that its temporaries
# (~60 B a transfer) stay bounded on a big token (500 MiB at 9.3M transfers in one pass).
CHUNK_ROWS = 1 << 21


def _feeding(ctx: Context[FanIn]) -> np.ndarray:
    """The rows that can feed a fan-in, ascending: from a fresh or dedicated feeder (the
    pair carries most of what the feeder ever sent) with few transfers, or of a rare
    split pair (split_transfers), to a collector that is no service wallet and does not
    burn what it collects (an issuer or paying agent collecting redemptions). Each
    sender's rows are judged in one range of senders."""
    p, f, feats = ctx.params, ctx.flows, ctx.features
    redeems = feats.column("share_to_burns") >= 0.5
    candidate = ~(ctx.service() | redeems)[f.dst] & (f.src != 0) & (f.src != f.dst)
    few_transfers = (feats.column("out_count") + feats.column("in_count")
                     <= p.max_feeder_transfers)
    senders, receivers = rare_pairs(ctx)
    rare = senders.astype(np.int64) * (1 << 32) + receivers
    found = []
    for lo, hi in address_ranges(np.bincount(f.src[candidate], minlength=f.n_addresses),
                                 CHUNK_ROWS):
        rows = np.flatnonzero(candidate & (f.src >= lo) & (f.src < hi))
        src = f.src[rows]
        pairs, group = np.unique(src.astype(np.int64) * (1 << 32) + f.dst[rows],
                                 return_inverse=True)
        # Per pair: dedicated, and rare; then per row.
        pair_value = np.bincount(group, weights=f.amount[rows])
        dedicated = pair_value >= p.min_dedication * feats.out_value[pairs >> 32]
        split = np.isin(pairs, rare)
        fresh = f.t[rows] - feats.first_seen[src] <= p.fresh_seconds
        found.append(rows[(few_transfers[src] & (fresh | dedicated[group])) | split[group]])
    return np.sort(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
