"""scatter_gather: a source splits funds over many intermediaries that all pay one collector.

Intermediaries ("mules") are addresses with at most `max_mule_counterparties` senders and
receivers; a route S → M → C counts when M forwards within `window_seconds` of receiving.
At least `min_intermediaries` distinct routes between the same S and C, carrying at least
`min_source_share` of what S sent meanwhile, make a pattern: the source, the mules and
the collector. A service wallet (by the token's yardstick) that pays mules unknowingly
is not a source.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from monitor.scoring.config import ScatterGather
from monitor.scoring.context import Context
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import duration, scale


def detect(ctx: Context[ScatterGather]) -> list[Pattern]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    limit = p.max_mule_counterparties
    mule = (feats.column("in_counterparties") <= limit) & (
        feats.column("out_counterparties") <= limit)
    mule[0] = False
    service = ctx.service()
    first = np.flatnonzero(mule[f.dst] & ~service[f.src])
    second = np.flatnonzero(mule[f.src] & (f.dst != 0))
    outgoing: dict[int, list[int]] = defaultdict(list)
    for i in second:
        outgoing[int(f.src[i])].append(int(i))
    routes: dict[tuple[int, int], dict[int, list[int]]] = defaultdict(dict)
    for i in first:
        m = int(f.dst[i])
        for j in outgoing.get(m, ()):
            if 0 <= f.t[j] - f.t[i] <= p.window_seconds and f.dst[j] != f.src[i]:
                routes[(int(f.src[i]), int(f.dst[j]))].setdefault(m, [int(i), j])
    found = []
    for (source, collector), via in routes.items():
        if len(via) < p.min_intermediaries:
            continue
        idx = np.array([k for pair in via.values() for k in pair])
        first_hops = np.array([pair[0] for pair in via.values()])
        start, end = f.t[first_hops].min(), f.t[first_hops].max()
        sent = f.sent(source)
        outflow = f.amount[sent[(f.t[sent] >= start) & (f.t[sent] <= end)]].sum()
        if f.amount[first_hops].sum() < p.min_source_share * outflow:
            continue  # a busy wallet that happens to pay a few mules: not its own scheme
        span = float(f.t[idx].max() - f.t[idx].min())
        gathered = f.amount[[pair[1] for pair in via.values()]].sum()
        title = (
            f"a scatter-gather: {len(via)} intermediaries received from {ctx.who(source)} "
            f"and forwarded {ctx.amount(gathered)} to {ctx.who(collector)} within "
            f"{duration(span)}"
        )
        score = scale(len(via), p.min_intermediaries, 4 * p.min_intermediaries, floor=60,
                      cap=90)
        members = {source: "source", **dict.fromkeys(via, "mule"), collector: "collector"}
        pattern = build(ctx, "scatter_gather", source, members, idx, score, title)
        if anchored(pattern, ctx.focus):
            found.append(pattern)
    return found
