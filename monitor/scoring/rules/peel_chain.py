"""peel_chain: a chain of hops, each forwarding most of what it got and peeling off a little.

A hop receives at most `max_hop_receipts` times (the chain's transfer, perhaps small
top-ups) and sends at least two and at most `max_hop_sends` transfers: the largest
carries at least `min_carry` of what it received onward within `max_hold_seconds`, the
rest (the "peels") go elsewhere. A hop links to the next when its carry goes to another hop
that carries on afterwards; a chain of at least `min_hops` linked hops is a pattern:
the hops, and the addresses its peels and its end paid (recipients). Service wallets
and deposit addresses are never hops: sweeping deposits is not peeling.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from monitor.scoring.config import PeelChain
from monitor.scoring.context import Context
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import duration, scale


def detect(ctx: Context[PeelChain]) -> list[Pattern]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    in_count, out_count = feats.column("in_count"), feats.column("out_count")
    is_candidate = ((in_count >= 1) & (in_count <= p.max_hop_receipts) & (out_count >= 2)
                    & (out_count <= p.max_hop_sends) & ~ctx.service() & ~ctx.deposit())
    is_candidate[0] = False
    received = feats.in_value
    sent_rows = np.flatnonzero(is_candidate[f.src] & (f.dst != 0))
    if sent_rows.size == 0:
        return []
    # The carrying transfer of each hop: its largest outgoing one.
    order = np.lexsort((-f.amount[sent_rows], f.src[sent_rows]))
    rows = sent_rows[order]
    first = np.r_[True, f.src[rows][1:] != f.src[rows][:-1]]
    carry: dict[int, int] = {}  # hop -> its carrying transfer
    for i in rows[first].tolist():
        hop = int(f.src[i])
        got, hold = received[hop], feats.hold_seconds[i]
        if got <= 0 or f.amount[i] < p.min_carry * got or f.amount[i] > got * 1.0001:
            continue
        if np.isnan(hold) or hold > p.max_hold_seconds:
            continue
        carry[hop] = i
    # A chain links a hop to the next when its carry goes to another hop, which carries
    # on afterwards; hops that merely pay the same address are not a chain.
    graph = nx.DiGraph()
    for hop, i in carry.items():
        nxt = int(f.dst[i])
        graph.add_node(hop)
        if nxt in carry and f.t[carry[nxt]] >= f.t[i]:
            graph.add_edge(hop, nxt)
    found = []
    for component in nx.weakly_connected_components(graph):
        hops = list(component)
        if len(hops) < p.min_hops:
            continue
        carried = [carry[a] for a in hops]
        sent = np.concatenate([f.sent(a) for a in hops])
        peels = sent[~np.isin(sent, carried) & (f.dst[sent] != 0)]
        idx = np.concatenate((np.array(carried), peels))
        ordered = sorted(hops, key=lambda a: f.t[f.sent(a)].min())
        span = float(f.t[idx].max() - f.t[idx].min())
        entry = float(f.amount[carried].max())
        title = (
            f"a peel chain of {len(hops)} hops from {ctx.who(ordered[0])}: starting from "
            f"{ctx.amount(entry)}, each hop forwarded most of its balance and peeled off "
            f"{ctx.amount(f.amount[peels].sum())} in total to side addresses, within "
            f"{duration(span)}"
        )
        score = scale(len(hops), p.min_hops, 3 * p.min_hops, floor=60, cap=90)
        ends = [int(f.dst[carry[a]]) for a in hops if graph.out_degree(a) == 0]
        members = {**dict.fromkeys(ordered, "hop"),
                   **{int(a): "recipient" for a in np.r_[f.dst[peels], ends]
                      if int(a) not in component}}
        pattern = build(ctx, "peel_chain", ordered[0], members, idx, score, title)
        if anchored(pattern, ctx.focus):
            found.append(pattern)
    return found
