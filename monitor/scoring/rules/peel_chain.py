"""peel_chain: a chain of hops, each forwarding most of what it got and peeling off a little.

A hop receives once or twice and sends two or three transfers: one carrying at least
`min_carry` of what it received onward, the rest (the "peel") elsewhere, within
`max_hold_seconds`. Hops linked by their carrying transfers form chains; a chain of at
least `min_hops` hops is a hit for every hop.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from monitor.scoring.rules import Context, Hit, duration, scale


def detect(ctx: Context) -> list[Hit]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    n_a = f.n_addresses
    in_count, out_count = feats.column("in_count"), feats.column("out_count")
    candidates = np.flatnonzero(
        (in_count >= 1) & (in_count <= 2) & (out_count >= 2) & (out_count <= 3)
    )
    candidates = candidates[candidates != 0]
    if candidates.size == 0:
        return []
    is_candidate = np.zeros(n_a, dtype=bool)
    is_candidate[candidates] = True
    received = np.bincount(f.dst, weights=f.amount, minlength=n_a)
    sent_rows = np.flatnonzero(is_candidate[f.src] & (f.dst != 0))
    if sent_rows.size == 0:
        return []
    # The carrying transfer of each hop: its largest outgoing one.
    order = np.lexsort((-f.amount[sent_rows], f.src[sent_rows]))
    rows = sent_rows[order]
    first = np.r_[True, f.src[rows][1:] != f.src[rows][:-1]]
    carry = rows[first]
    graph = nx.DiGraph()
    for i in carry:
        hop, nxt = int(f.src[i]), int(f.dst[i])
        got = received[hop]
        hold = feats.hold_seconds[i]
        if got <= 0 or f.amount[i] < p["min_carry"] * got or f.amount[i] > got * 1.0001:
            continue
        if np.isnan(hold) or hold > p["max_hold_seconds"]:
            continue
        graph.add_edge(hop, nxt, row=int(i))
    hits = []
    for component in nx.weakly_connected_components(graph):
        hops = [a for a in component if graph.out_degree(a) > 0]
        if len(hops) < p["min_hops"]:
            continue
        sub = graph.subgraph(component)
        rows_used = [d["row"] for _, _, d in sub.edges(data=True)]
        sent = np.concatenate([f.sent(a) for a in hops])
        peels = sent[~np.isin(sent, rows_used) & (f.dst[sent] != 0)]
        idx = np.concatenate((np.array(rows_used), peels))
        start = float(f.t[rows_used].min())
        span = float(f.t[idx].max()) - start
        entry = float(f.amount[rows_used].max())
        detail = (
            f"one of {len(hops)} hops of a peel chain: starting from {ctx.amount(entry)}, "
            f"each hop forwarded most of its balance and peeled off "
            f"{ctx.amount(f.amount[peels].sum())} in total to side addresses, within "
            f"{duration(span)}"
        )
        score = scale(len(hops), p["min_hops"], 3 * p["min_hops"], floor=60)
        evidence = ctx.evidence(idx)
        hits.extend(Hit(int(a), score, detail, evidence) for a in hops)
    return hits
