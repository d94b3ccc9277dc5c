"""cycle: value goes round a loop of addresses and comes back to where it started.

Round-tripping creates the appearance of turnover or launders the origin. Its members
need not be fresh wallets: long-lived accounts that do business with many counterparties
pass an amount round between them as well. What gives the loop away is its legs: each is
a *thin* relationship, a pair of addresses that exchanged at most `max_leg_transfers`
transfers ever (either way), and the legs all fall within `window_seconds`.

The search runs on the token's thin legs between holders (service wallets are left out:
their customers' business is not theirs), inside the strongly connected parts of that
graph: from each leg, taken as the round's earliest, a depth-first walk along later thin
legs within the window back to where it started, `min_length`..`max_length` addresses,
at most `max_expansions` steps per starting leg: a leg with more paths back than that
sits in a crowd of one-off relationships, where loops close by chance, and none of its
loops is kept.

A loop is judged by how many loops like it chance alone would close on this token
(`chance`): the more thin legs the token and the members have, the more loops close by
accident. A loop chance would close more than `max_chance` times is not reported; one it
would close `flag_chance` times scores 50, and every tenfold rarer 12.5 more (up to 95).
A round whose legs go in order (each leg at or after the one before) with amounts within
`amount_tolerance` of the first is rarer still by chance, and its sentence says what left
and what came back.

The loop is a pattern: every member (a `cycle_member`), with the transfer of each leg,
anchored at its lowest member. An incremental run runs the rule on the whole token's
transfers (monitor.scoring.incremental), so each starting leg's walk is a full run's.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator

import networkx as nx
import numpy as np

from monitor.scoring import population
from monitor.scoring.config import Cycle
from monitor.scoring.context import Context
from monitor.scoring.flows import Flows
from monitor.scoring.patterns import Pattern, anchored, build
from monitor.scoring.rules import duration

# A round's span counts as at least this long when judging chance (legs in one block
# are not infinitely unlikely).
MIN_SPAN = 3600


def detect(ctx: Context[Cycle]) -> list[Pattern]:
    p, f, stats = ctx.params, ctx.flows, ctx.stats
    thin = population.thin_rows(f, ctx.service(), p.max_leg_transfers)
    legs = np.unique(f.src[thin].astype(np.int64) * (1 << 32) + f.dst[thin])
    outs = np.bincount(legs >> 32, minlength=f.n_addresses)
    ins = np.bincount(legs & 0xFFFFFFFF, minlength=f.n_addresses)
    n, m = max(stats.thin_addresses, 1), max(stats.thin_legs, 1)
    lifetime = max(stats.lifetime, float(p.window_seconds))
    best: dict[tuple[int, ...], tuple[float, list[int], bool]] = {}
    for loop, used in search(f, thin, p, ctx.focus):
        ordered = _ordered(f, used, p.amount_tolerance)
        span = float(f.t[used].max() - f.t[used].min())
        k = len(loop)
        # log10 of: n^k ways to pick k addresses, each leg there with probability
        # out x in / m (a random graph with these thin degrees), k legs at random times
        # within the span with probability ~ k (span / lifetime)^(k-1), k rotations; an
        # ordered round is one of the (k-1)! cyclic orders of its legs.
        chance = (k * math.log10(n)
                  + sum(math.log10(max(int(outs[a]) * int(ins[a]), 1) / m) for a in loop)
                  + (k - 1) * math.log10(max(span, MIN_SPAN) / lifetime)
                  - (math.lgamma(k) / math.log(10) if ordered else 0.0))
        key = _canonical(loop)
        held = best.get(key)
        if held is None or (chance, used) < (held[0], held[1]):
            best[key] = (chance, used, ordered)
    found: dict[str, Pattern] = {}
    for chance, used, ordered in best.values():
        if chance > math.log10(p.max_chance):
            continue
        loop = [int(f.src[r]) for r in used]
        amounts = f.amount[used]
        span = float(f.t[used].max() - f.t[used].min())
        odds = f"chance would close about {_odds(chance)} such loops on this token"
        if ordered:
            title = (f"a {len(loop)}-address cycle: {ctx.amount(amounts[0])} left "
                     f"{ctx.who(loop[0])} and {ctx.amount(amounts[-1])} came back within "
                     f"{duration(span)}; {odds}")
        else:
            title = (f"a {len(loop)}-address loop of one-off relationships through "
                     f"{ctx.who(min(loop))}, {ctx.amount(float(amounts.sum()))} over "
                     f"{len(loop)} legs within {duration(span)}; {odds}")
        score = min(50.0 + 12.5 * (math.log10(p.flag_chance) - chance), 95.0)
        pattern = build(ctx, "cycle", min(loop), dict.fromkeys(loop, "cycle_member"), used,
                        score, title)
        if anchored(pattern, ctx.focus):
            found.setdefault(pattern.key, pattern)
    return list(found.values())


def search(f: Flows, thin: np.ndarray, p: Cycle,
           through: np.ndarray | None = None) -> Iterator[tuple[list[int], list[int]]]:
    """Loops of thin legs (`thin`: rows, ascending) within the window: (members from the
    sender of the earliest leg on, the leg rows in loop order). With `through` (bool per
    address), only the loops through one of those addresses."""
    src, dst, t = f.src[thin].tolist(), f.dst[thin].tolist(), f.t[thin].tolist()
    graph = nx.DiGraph()
    graph.add_edges_from(zip(src, dst, strict=True))
    part: dict[int, int] = {}
    for k, nodes in enumerate(nx.strongly_connected_components(graph)):
        if len(nodes) >= p.min_length and (through is None
                                           or any(through[a] for a in nodes)):
            part.update(dict.fromkeys(nodes, k))
    window, low, high = int(p.window_seconds), int(p.min_length), int(p.max_length)
    # A loop through one of `through` starts at most a window before one of their legs.
    theirs = (np.sort(f.t[thin][through[f.src[thin]] | through[f.dst[thin]]])
              if through is not None else np.zeros(0, dtype=np.int64))
    # Out-legs of each address, positions into `thin` (so in time order).
    out: dict[int, list[int]] = {}
    starts = []
    for i, (a, b) in enumerate(zip(src, dst, strict=True)):
        if a in part and part[a] == part.get(b):
            out.setdefault(a, []).append(i)
            if through is None or _near(theirs, t[i], window):
                starts.append(i)
    rows = thin.tolist()
    for first in starts:
        home, limit = src[first], t[first] + window
        path, legs = [home, dst[first]], [first]
        on_path = set(path)
        budget = int(p.max_expansions)
        closed: list[tuple[list[int], list[int]]] = []
        # Depth-first with an explicit stack of (address, next position in its out-legs).
        stack = [(dst[first], bisect_right(out.get(dst[first], []), first))]
        while stack and budget >= 0:
            at, pos = stack[-1]
            nexts = out.get(at, [])
            if pos >= len(nexts) or t[nexts[pos]] > limit:
                stack.pop()
                on_path.discard(path.pop())
                if legs:
                    legs.pop()
                continue
            stack[-1] = (at, pos + 1)
            leg = nexts[pos]
            to = dst[leg]
            if to == home:
                if len(path) >= low and (through is None
                                         or any(through[a] for a in path)):
                    closed.append((list(path), [rows[i] for i in (*legs, leg)]))
                continue
            if to in on_path or len(path) >= high:
                continue
            budget -= 1
            path.append(to)
            on_path.add(to)
            legs.append(leg)
            stack.append((to, bisect_right(out.get(to, []), first)))
        # A leg among more paths back than the bound is in a crowd of one-off
        # relationships, where loops close by chance: none of its loops is kept.
        if budget >= 0:
            yield from closed


def _near(times: np.ndarray, start: int, window: int) -> bool:
    """Whether some of `times` (sorted) fall within [start, start + window]."""
    at = int(np.searchsorted(times, start))
    return at < times.size and int(times[at]) <= start + window


def _ordered(f: Flows, used: list[int], tolerance: float) -> bool:
    """Whether the legs go round in order, each within `tolerance` of the first amount."""
    first = f.amount[used[0]]
    return (all(b > a for a, b in zip(used, used[1:], strict=False))
            and bool(np.all(np.abs(f.amount[used] - first) <= tolerance * first)))


def _canonical(loop: list[int]) -> tuple[int, ...]:
    start = loop.index(min(loop))
    return tuple(loop[start:] + loop[:start])


def _odds(log10_chance: float) -> str:
    value = 10 ** log10_chance
    if value >= 0.01:
        return f"{value:.2g}"
    return f"1 in {1 / value:,.0f}"
