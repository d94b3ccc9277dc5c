"""scatter_gather: a source splits funds over many intermediaries that all pay one collector.

Intermediaries ("mules") are addresses with at most `max_mule_counterparties` senders and
receivers; a route S → M → C counts when M forwards within `window_seconds` of receiving.
At least `min_intermediaries` distinct routes between the same S and C, carrying at least
`min_source_share` of what S sent meanwhile, make a hit for S, C and the mules.
"""

from __future__ import annotations

from collections import defaultdict

import numpy as np

from monitor.scoring.rules import Context, Hit, duration, scale


def detect(ctx: Context) -> list[Hit]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    limit = p["max_mule_counterparties"]
    mule = (feats.column("in_counterparties") <= limit) & (
        feats.column("out_counterparties") <= limit)
    mule[0] = False
    # Service wallets (the busiest 1% by receivers) pay mules unknowingly: not sources.
    out_cp = feats.column("out_counterparties")
    busy = ctx.stats["busy_out_counterparties"]
    first = np.flatnonzero(mule[f.dst] & (f.src != 0) & (out_cp[f.src] <= busy))
    second = np.flatnonzero(mule[f.src] & (f.dst != 0))
    outgoing: dict[int, list[int]] = defaultdict(list)
    for i in second:
        outgoing[int(f.src[i])].append(int(i))
    routes: dict[tuple[int, int], dict[int, list[int]]] = defaultdict(dict)
    for i in first:
        m = int(f.dst[i])
        for j in outgoing.get(m, ()):
            if 0 <= f.t[j] - f.t[i] <= p["window_seconds"] and f.dst[j] != f.src[i]:
                routes[(int(f.src[i]), int(f.dst[j]))].setdefault(m, [int(i), j])
    hits: dict[int, Hit] = {}
    for (source, collector), via in routes.items():
        if len(via) < p["min_intermediaries"]:
            continue
        idx = np.array([k for pair in via.values() for k in pair])
        first_hops = np.array([pair[0] for pair in via.values()])
        start, end = f.t[first_hops].min(), f.t[first_hops].max()
        sent = f.sent(source)
        outflow = f.amount[sent[(f.t[sent] >= start) & (f.t[sent] <= end)]].sum()
        if f.amount[first_hops].sum() < p["min_source_share"] * outflow:
            continue  # a busy wallet that happens to pay a few mules: not its own scheme
        span = float(f.t[idx].max() - f.t[idx].min())
        gathered = f.amount[[pair[1] for pair in via.values()]].sum()
        score = scale(len(via), p["min_intermediaries"], 4 * p["min_intermediaries"], floor=60)
        roles = {source: "source", collector: "collector", **dict.fromkeys(via, "intermediary")}
        for address, role in roles.items():
            detail = (
                f"{role} of a scatter-gather: {len(via)} intermediaries received from "
                f"{ctx.who(source)} and forwarded {ctx.amount(gathered)} to "
                f"{ctx.who(collector)} within {duration(span)}"
            )
            s = score if role != "intermediary" else score * 0.9
            if address not in hits or hits[address].score < s:
                hits[address] = Hit(address, s, detail, ctx.evidence(idx))
    return list(hits.values())
