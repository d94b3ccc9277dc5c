"""structuring: many transfers just below a reporting threshold, from one source or into
one collector.

Splitting a sum into amounts that each stay under the threshold above which a transfer
is reported is the oldest laundering typology, done by one account paying out in pieces
or by several smurfs paying one collector. The threshold is a regulatory figure (config
`reporting_threshold`, token units); "just below" is the band [band × threshold,
threshold). At least `min_transfers` in-band transfers within `window_seconds` from one
source, or into one collector from at least two senders, that are at least `min_share`
of its outgoing (incoming) transfers — and at least `min_lift` times the token's own
share of in-band transfers, since some of any token's transfers fall in the band by
chance — make a pattern: the source and its recipients, or the collector and its
smurfs (feeders). Service wallets are neither.
"""

from __future__ import annotations

import numpy as np

from monitor.scoring.config import Structuring
from monitor.scoring.context import Context
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import best_windows, duration, scale, share


def detect(ctx: Context[Structuring]) -> list[Pattern]:
    p, f = ctx.params, ctx.flows
    threshold = float(p.reporting_threshold)
    if threshold <= 0:
        return []
    service = ctx.service()
    near = np.flatnonzero((f.amount >= p.band * threshold) & (f.amount < threshold)
                          & ~service[f.src] & ~service[f.dst])
    found: dict[str, Pattern] = {}
    for side in ("source", "collector"):
        for pattern in _side(ctx, near, side, threshold):
            held = found.get(pattern.key)
            if anchored(pattern, ctx.focus) and (held is None or held.score < pattern.score):
                found[pattern.key] = pattern
    return list(found.values())


def _side(ctx: Context[Structuring], near: np.ndarray, side: str,
          threshold: float) -> list[Pattern]:
    p, f = ctx.params, ctx.flows
    hub, other = (f.src, f.dst) if side == "source" else (f.dst, f.src)
    total = ctx.features.column("out_count" if side == "source" else "in_count")
    base = ctx.stats.in_band_share
    groups, counts, slices = best_windows(hub[near], f.t[near], int(p.window_seconds))
    found = []
    for anchor, count, rows in zip(groups, counts, slices, strict=True):
        if count < p.min_transfers:
            continue
        mine = count / max(total[anchor], 1)
        idx = near[rows]
        parties = np.unique(other[idx])
        if mine < p.min_share or mine < p.min_lift * base or (
                side == "collector" and parties.size < 2):
            continue
        span = float(f.t[idx].max() - f.t[idx].min())
        flow = (f"{ctx.who(int(anchor))} sent {count} transfers to {parties.size} address(es)"
                if side == "source" else
                f"{parties.size} senders paid {ctx.who(int(anchor))} {count} transfers")
        title = (
            f"structuring: {flow} between {ctx.amount(p.band * threshold)} and "
            f"{ctx.amount(threshold)} (just below the {ctx.amount(threshold)} reporting "
            f"threshold) within {duration(span)}, totalling {ctx.amount(f.amount[idx].sum())};"
            f" {share(mine)} of its {'outgoing' if side == 'source' else 'incoming'} "
            f"transfers, against {share(base)} of this token's transfers"
        )
        score = scale(count, p.min_transfers, 3 * p.min_transfers, floor=60) * min(
            1.0, 0.5 + mine)
        role = "recipient" if side == "source" else "feeder"
        members = {int(anchor): side, **{int(a): role for a in parties}}
        found.append(build(ctx, "structuring", int(anchor), members, idx, score, title))
    return found
