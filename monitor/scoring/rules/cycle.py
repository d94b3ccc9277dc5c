"""cycle: value goes round a loop of addresses and comes back to where it started.

Round-tripping creates the appearance of turnover or launders the origin. The search
runs on the graph of transfers between low-degree addresses (at most
`max_counterparties` each; hubs create countless trivial loops) and looks for simple
cycles of `min_length`..`max_length` addresses whose transfers happen in order within
`window_seconds` with amounts within `amount_tolerance` of each other. The loop is a
pattern: every member, with the transfers of the round.
"""

from __future__ import annotations

import networkx as nx
import numpy as np

from monitor.scoring.config import Cycle
from monitor.scoring.context import Context
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import duration, scale


def detect(ctx: Context[Cycle]) -> list[Pattern]:
    p, f = ctx.params, ctx.flows
    small = ctx.degree() <= p.max_counterparties
    small[0] = False
    rows = np.flatnonzero(small[f.src] & small[f.dst] & (f.src != f.dst))
    graph = nx.DiGraph()
    for i in rows:
        a, b = int(f.src[i]), int(f.dst[i])
        if graph.has_edge(a, b):
            graph[a][b]["rows"].append(int(i))
        else:
            graph.add_edge(a, b, rows=[int(i)])
    found: dict[str, Pattern] = {}
    for loop in nx.simple_cycles(graph, length_bound=int(p.max_length)):
        if len(loop) < p.min_length:
            continue
        timed = _timed_round(ctx, graph, loop)
        if timed is None:
            continue
        used, span = timed
        start = loop.index(int(f.src[used[0]]))
        loop = loop[start:] + loop[:start]
        amounts = f.amount[used]
        title = (
            f"a {len(loop)}-address cycle: {ctx.amount(amounts[0])} left "
            f"{ctx.who(loop[0])} and {ctx.amount(amounts[-1])} came back within "
            f"{duration(span)}"
        )
        score = scale(len(loop), p.min_length, p.min_length + 4, floor=65, cap=90)
        pattern = build(ctx, "cycle", min(loop), dict.fromkeys(loop, "cycle_member"), used,
                        score, title)
        if anchored(pattern, ctx.focus):
            found.setdefault(pattern.key, pattern)
    return list(found.values())


def _timed_round(
    ctx: Context[Cycle], graph: nx.DiGraph, loop: list[int]
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
    ctx: Context[Cycle], graph: nx.DiGraph, loop: list[int]
) -> tuple[list[int], float] | None:
    f, p = ctx.flows, ctx.params
    for start in graph[loop[0]][loop[1]]["rows"]:
        used, now, amount = [start], f.t[start], f.amount[start]
        ok = True
        for k in range(1, len(loop)):
            a, b = loop[k], loop[(k + 1) % len(loop)]
            tolerance = p.amount_tolerance * amount
            later = [r for r in graph[a][b]["rows"]
                     if f.t[r] >= now and abs(f.amount[r] - amount) <= tolerance]
            if not later:
                ok = False
                break
            nxt = min(later, key=lambda r: f.t[r])
            used.append(nxt)
            now = f.t[nxt]
        span = float(now - f.t[start])
        if ok and span <= p.window_seconds:
            return used, span
    return None
