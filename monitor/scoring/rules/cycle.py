"""cycle: value goes round a loop of addresses and comes back to where it started.

Round-tripping creates the appearance of turnover or launders the origin. The search
runs on the graph of transfers between low-degree addresses (at most
`max_counterparties` each; hubs create countless trivial loops) and looks for simple
cycles of `min_length`..`max_length` addresses whose transfers happen in order within
`window_seconds` with amounts within `amount_tolerance` of each other.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from monitor.scoring.rules import Context, Hit, duration, scale


def detect(ctx: Context) -> list[Hit]:
    p, f, feats = ctx.params, ctx.flows, ctx.features
    degree = feats.column("in_counterparties") + feats.column("out_counterparties")
    small = degree <= p["max_counterparties"]
    small[0] = False
    rows = np.flatnonzero(small[f.src] & small[f.dst] & (f.src != f.dst))
    graph = nx.DiGraph()
    for i in rows:
        a, b = int(f.src[i]), int(f.dst[i])
        if graph.has_edge(a, b):
            graph[a][b]["rows"].append(int(i))
        else:
            graph.add_edge(a, b, rows=[int(i)])
    hits: dict[int, Hit] = {}
    for loop in nx.simple_cycles(graph, length_bound=int(p["max_length"])):
        if len(loop) < p["min_length"]:
            continue
        found = _timed_round(ctx, graph, loop)
        if found is None:
            continue
        used, span = found
        amounts = f.amount[used]
        detail = (
            f"member of a {len(loop)}-address cycle: {ctx.amount(amounts[0])} left "
            f"{ctx.who(loop[0])} and {ctx.amount(amounts[-1])} came back within "
            f"{duration(span)}"
        )
        score = scale(len(loop), p["min_length"], p["max_length"], floor=65, cap=90)
        evidence = ctx.evidence(used)
        for address in loop:
            if address not in hits or hits[address].score < score:
                hits[address] = Hit(int(address), score, detail, evidence)
    return list(hits.values())


def _timed_round(
    ctx: Context, graph: nx.DiGraph, loop: list[int]
) -> tuple[list[int], float] | None:
    """Transfers going round `loop` in time order, similar amounts, within the window."""
    # Any member may have started the round: try each rotation, each transfer of its first
    # edge as the start, then follow the earliest later transfer of each next edge.
    for shift in range(len(loop)):
        found = _round_from(ctx, graph, loop[shift:] + loop[:shift])
        if found is not None:
            return found
    return None


def _round_from(
    ctx: Context, graph: nx.DiGraph, loop: list[int]
) -> tuple[list[int], float] | None:
    f, p = ctx.flows, ctx.params
    for start in graph[loop[0]][loop[1]]["rows"]:
        used, now, amount = [start], f.t[start], f.amount[start]
        ok = True
        for k in range(1, len(loop)):
            a, b = loop[k], loop[(k + 1) % len(loop)]
            tolerance = p["amount_tolerance"] * amount
            later = [r for r in graph[a][b]["rows"]
                     if f.t[r] >= now and abs(f.amount[r] - amount) <= tolerance]
            if not later:
                ok = False
                break
            nxt = min(later, key=lambda r: f.t[r])
            used.append(nxt)
            now = f.t[nxt]
        span = float(now - f.t[start])
        if ok and span <= p["window_seconds"]:
            return used, span
    return None
